// On every page: show notifications as they arrive.
import { onFrame } from "./socket.js";

const region = document.getElementById("toasts");

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

onFrame((frame) => {
  if (frame.type !== "notification") return;
  const { text, detail, url } = frame.notification;
  toast(text, detail, url);
  window.dispatchEvent(new CustomEvent("messenger:notification", { detail: frame.notification }));
});
