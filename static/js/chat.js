// The conversation page: live messages, pending sends, catch-up after every
// (re)connect.  All user text goes through textContent.
import { onFrame, onOpen, send } from "./socket.js";

const config = JSON.parse(document.getElementById("chat-config").textContent);
const list = document.getElementById("messages");
const form = document.getElementById("composer");
const input = document.getElementById("composer-body");
const announcer = document.getElementById("announcer");
const status = document.getElementById("connection-status");

const seenIds = new Set([...list.querySelectorAll("[data-id]")].map((el) => el.dataset.id));
const pending = new Map(); // client_id -> {element, body}
let lastSequence = config.lastSequence;

function scrollToEnd() {
  list.scrollTop = list.scrollHeight;
}

function avatarElement(sender) {
  if (sender.avatar) {
    const img = document.createElement("img");
    img.className = "avatar";
    img.src = sender.avatar;
    img.alt = "";
    img.width = 36;
    img.height = 36;
    return img;
  }
  const span = document.createElement("span");
  span.className = "avatar";
  span.setAttribute("aria-hidden", "true");
  span.textContent = sender.initials || "";
  return span;
}

function messageElement(message, mine) {
  const item = document.createElement("li");
  item.className = mine ? "message mine" : "message";
  const sender = document.createElement("span");
  sender.className = "sender";
  sender.textContent = message.sender.name;
  const body = document.createElement("p");
  body.className = "body";
  body.textContent = message.body;
  const time = document.createElement("time");
  time.dateTime = message.created_at;
  time.textContent = new Date(message.created_at).toLocaleTimeString([], {
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });
  if (!mine) item.append(avatarElement(message.sender));
  item.append(sender, body, time);
  return item;
}

function showMessage(message) {
  if (message.conversation !== config.conversation) return;
  const id = String(message.id);
  if (seenIds.has(id)) return; // A repeated push or catch-up: shown once.
  seenIds.add(id);
  const mine = message.sender.id === config.userId;
  const item = messageElement(message, mine);
  item.dataset.id = id;
  item.dataset.sequence = message.sequence;
  item.dataset.clientId = message.client_id;
  const waiting = pending.get(message.client_id);
  if (waiting) {
    waiting.element.replaceWith(item);
    pending.delete(message.client_id);
  } else {
    // Keep sequence order even if a catch-up page arrives after a push.
    const later = [...list.children].find(
      (el) => el.dataset.sequence && Number(el.dataset.sequence) > message.sequence,
    );
    list.insertBefore(item, later || null);
  }
  lastSequence = Math.max(lastSequence, message.sequence);
  if (!mine) announcer.textContent = `${message.sender.name}: ${message.body}`;
  scrollToEnd();
}

function sendPending(clientId) {
  const entry = pending.get(clientId);
  if (!entry) return;
  send({ type: "message.send", conversation: config.conversation, client_id: clientId, body: entry.body });
}

onOpen(() => {
  status.textContent = "";
  // Catch up on what was stored while we were away, then resend what was
  // never acknowledged (the server stores each client_id once).
  send({ type: "sync", conversations: { [config.conversation]: lastSequence } });
  for (const clientId of pending.keys()) sendPending(clientId);
});

onFrame((frame) => {
  switch (frame.type) {
    case "message.new":
      showMessage(frame.message);
      break;
    case "message.ack": {
      const entry = pending.get(frame.client_id);
      if (entry) {
        entry.element.classList.remove("failed");
        entry.element.classList.add("accepted");
        entry.element.querySelector("time").textContent = "sent";
      }
      break;
    }
    case "sync.done":
      if (frame.more) send({ type: "sync", conversations: { [config.conversation]: frame.last_sequence } });
      break;
    case "error": {
      const entry = frame.client_id && pending.get(frame.client_id);
      if (entry) {
        entry.element.classList.add("failed");
        entry.element.querySelector("time").textContent = `not sent: ${frame.message}`;
      } else {
        status.textContent = frame.message;
      }
      break;
    }
    default:
      break;
  }
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const body = input.value;
  if (!body.trim()) return;
  if (body.length > config.maxLength) {
    status.textContent = `A message has at most ${config.maxLength} characters.`;
    return;
  }
  const clientId = crypto.randomUUID();
  const element = messageElement(
    { sender: { name: "You" }, body, created_at: new Date().toISOString() },
    true,
  );
  element.classList.add("pending");
  element.querySelector("time").textContent = "sending…";
  list.append(element);
  pending.set(clientId, { element, body });
  if (!send({ type: "message.send", conversation: config.conversation, client_id: clientId, body })) {
    status.textContent = "Reconnecting… your message will be sent then.";
  }
  input.value = "";
  scrollToEnd();
});

input.addEventListener("keydown", (event) => {
  // Enter sends, Shift+Enter makes a new line, as in most messengers.
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    form.requestSubmit();
  }
});

scrollToEnd();
