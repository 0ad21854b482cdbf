// On every page: show notifications as they arrive, keep the bell's unread
// count, pop the browser's notification when the tab is in the background,
// and tell the server which conversation this tab shows (no notifications
// for it meanwhile).
import { onFrame, onOpen, send } from "./socket.js";

const region = document.getElementById("toasts");
const bell = document.getElementById("bell");
const bellCount = document.getElementById("bell-count");
const chatConfig = document.getElementById("chat-config");
const viewedConversation = chatConfig ? JSON.parse(chatConfig.textContent).conversation : null;

function toast(text, detail, url) {
  const item = document.createElement("li");
  const link = document.createElement("a");
  link.href = url;
  link.textContent = text;
  item.append(link);
  if (detail) {
    const quote = document.createElement("q");
    quote.textContent = detail;
    item.append(" ", quote);
  }
  region.append(item);
  window.setTimeout(() => item.remove(), 8000);
}

function showUnread(unread) {
  if (!bellCount || typeof unread !== "number") return;
  bellCount.textContent = String(unread);
  bellCount.dataset.unread = String(unread);
  bellCount.hidden = unread === 0;
  bell.setAttribute("aria-label", `Notifications, ${unread} unread`);
}

function popup(notification) {
  if (!document.hidden || notification.silent) return;
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  const shown = new Notification(notification.text, { body: notification.detail, tag: notification.id });
  shown.addEventListener("click", () => {
    window.focus();
    window.location.href = notification.url;
  });
}

function reportFocus() {
  send({ type: "focus", conversation: document.hidden ? null : viewedConversation });
}

onFrame((frame) => {
  if (frame.type === "notifications.unread") {
    showUnread(frame.unread);
    return;
  }
  if (frame.type !== "notification") return;
  const { text, detail, url } = frame.notification;
  showUnread(frame.notification.unread);
  toast(text, detail, url);
  popup(frame.notification);
  window.dispatchEvent(new CustomEvent("messenger:notification", { detail: frame.notification }));
});

// Reported on every (re)connect and when the tab is shown or hidden; the
// server keeps the report while the socket is open.
onOpen(reportFocus);
document.addEventListener("visibilitychange", reportFocus);
