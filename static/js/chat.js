// The conversation page: one WebSocket, live messages, pending sends, catch-up.
// Protocol: docs/websocket-protocol.md.  All user text goes through textContent.

const config = JSON.parse(document.getElementById("chat-config").textContent);
const list = document.getElementById("messages");
const form = document.getElementById("composer");
const input = document.getElementById("composer-body");
const announcer = document.getElementById("announcer");
const status = document.getElementById("connection-status");

const seenIds = new Set([...list.querySelectorAll("[data-id]")].map((el) => el.dataset.id));
const pending = new Map(); // client_id -> {element, body}
let lastSequence = config.lastSequence;
let socket = null;
let retryDelay = 500;

function scrollToEnd() {
  list.scrollTop = list.scrollHeight;
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
  const created = new Date(message.created_at);
  time.dateTime = message.created_at;
  time.textContent = created.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
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

function setStatus(text) {
  status.textContent = text;
}

function send(frame) {
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify(frame));
    return true;
  }
  return false;
}

function sendPending(clientId) {
  const entry = pending.get(clientId);
  if (!entry) return;
  send({ type: "message.send", conversation: config.conversation, client_id: clientId, body: entry.body });
}

function handleFrame(frame) {
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
        setStatus(frame.message);
      }
      break;
    }
    default:
      break;
  }
}

function connect() {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${window.location.host}${config.socketPath}`);
  socket.addEventListener("open", () => {
    retryDelay = 500;
    setStatus("");
    // Catch up on what was stored while we were away, then resend what was
    // never acknowledged (the server stores each client_id once).
    send({ type: "sync", conversations: { [config.conversation]: lastSequence } });
    for (const clientId of pending.keys()) sendPending(clientId);
  });
  socket.addEventListener("message", (event) => {
    try {
      handleFrame(JSON.parse(event.data));
    } catch (error) {
      console.error("bad frame from server", error);
    }
  });
  socket.addEventListener("close", () => {
    setStatus("Reconnecting…");
    const delay = retryDelay * (0.75 + Math.random() * 0.5);
    retryDelay = Math.min(retryDelay * 2, 15000);
    window.setTimeout(connect, delay);
  });
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const body = input.value;
  if (!body.trim()) return;
  if (body.length > config.maxLength) {
    setStatus(`A message has at most ${config.maxLength} characters.`);
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
  sendPending(clientId);
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
connect();
