// The conversation page: live messages, pending sends, catch-up after every
// (re)connect, "load older", replies, edits, deletions, reactions, typing,
// read receipts and unread counts.  Protocol: docs/websocket-protocol.md.
// User text goes through textContent; only `html`, which the server renders
// and sanitises, is inserted as markup.
import { onFrame, onOpen, send } from "./socket.js";
import { attachmentsElement, composerAttachments } from "./attachments.js";

const config = JSON.parse(document.getElementById("chat-config").textContent);
const list = document.getElementById("messages");
const olderItem = list.querySelector("li.older");
const olderButton = document.getElementById("load-older");
const form = document.getElementById("composer");
const input = document.getElementById("composer-body");
const announcer = document.getElementById("announcer");
const status = document.getElementById("connection-status");
const typingLine = document.getElementById("typing");
const seenLine = document.getElementById("seen");
const replying = document.getElementById("replying");
const REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🎉"];

const seenIds = new Set([...list.querySelectorAll("[data-id]")].map((el) => el.dataset.id));
const pending = new Map(); // client_id -> {element, body, attachments, replyTo}
const reads = new Map(Object.entries(config.reads).map(([id, seq]) => [Number(id), seq]));
// The newest message shown, for read receipts; and the sequence up to which
// every message is shown, where a catch-up starts.  A message past a gap
// (its predecessor's push was lost: the channel layer is at-most-once) is
// kept in `ahead` and starts a catch-up from before the gap.
let lastSequence = config.lastSequence;
let shownThrough = config.lastSequence;
const ahead = new Set();
let catchingUp = false;
// The conversation's change number this page has seen: edits, deletions and
// reactions after it are sent again on (re)connect.
let lastChange = config.lastChange;
let firstSequence = config.firstSequence;
let replyTo = null;
let readSent = 0;
const typists = new Map(); // user id -> {name, timer}

const timeFormat = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function avatarElement(sender) {
  if (sender.avatar) {
    const img = el("img", "avatar");
    img.src = sender.avatar;
    img.alt = "";
    img.width = 36;
    img.height = 36;
    return img;
  }
  const span = el("span", "avatar", sender.initials || "");
  span.setAttribute("aria-hidden", "true");
  return span;
}

function actionsElement(message, mine) {
  const bar = el("span", "message-actions");
  const button = (label, action, extra = {}) => {
    const b = el("button", "link", label);
    b.type = "button";
    b.dataset.action = action;
    for (const [k, v] of Object.entries(extra)) b.dataset[k] = v;
    bar.append(b);
  };
  button("Reply", "reply");
  for (const emoji of REACTIONS.slice(0, 3)) button(emoji, "react", { emoji });
  if (mine) {
    button("Edit", "edit");
    button("Delete", "delete");
  }
  return bar;
}

function reactionsElement(message) {
  const box = el("span", "reactions");
  for (const reaction of message.reactions || []) {
    const mine = reaction.user_ids.includes(config.userId);
    const b = el("button", mine ? "reaction mine" : "reaction", `${reaction.emoji} ${reaction.count}`);
    b.type = "button";
    b.dataset.action = mine ? "unreact" : "react";
    b.dataset.emoji = reaction.emoji;
    b.setAttribute("aria-pressed", String(mine));
    box.append(b);
  }
  return box;
}

function messageElement(message) {
  const mine = message.sender.id === config.userId;
  const item = el("li", "message");
  if (message.kind === "system") {
    item.classList.add("system");
    item.append(el("p", "body", message.body));
  } else {
    if (mine) item.classList.add("mine");
    else item.append(avatarElement(message.sender));
    item.append(el("span", "sender", message.sender.name));
    if (message.reply_to) {
      item.append(el("blockquote", "quote", `${message.reply_to.sender_name}: ${message.reply_to.excerpt || "deleted"}`));
    }
    const body = el("div", "body");
    if (message.deleted) {
      item.classList.add("deleted");
      body.append(el("em", "", "This message was deleted."));
    } else if (message.html !== undefined) {
      body.innerHTML = message.html; // Rendered and sanitised by the server (nh3).
    } else {
      body.textContent = message.body;
    }
    item.append(body);
    const files = message.deleted ? null : attachmentsElement(message.attachments);
    if (files) item.append(files);
  }
  const time = el("time", "", new Date(message.created_at).toLocaleTimeString([], timeFormat));
  time.dateTime = message.created_at;
  item.append(time);
  if (message.edited_at && !message.deleted) item.append(" ", el("span", "edited", "edited"));
  if (message.id !== undefined && message.kind !== "system" && !message.deleted) {
    item.append(reactionsElement(message), actionsElement(message, mine));
  }
  if (message.id !== undefined) {
    item.id = `m${message.sequence}`;
    item.dataset.id = String(message.id);
    item.dataset.sequence = String(message.sequence);
    item.dataset.clientId = message.client_id;
    item.dataset.sender = String(message.sender.id);
    item.dataset.body = message.body;
  }
  return item;
}

function insertInOrder(item, sequence) {
  const later = [...list.children].find(
    (node) => node.dataset.sequence && Number(node.dataset.sequence) > sequence,
  );
  list.insertBefore(item, later || null);
}

function showMessage(message) {
  if (message.conversation !== config.conversation) return;
  const id = String(message.id);
  if (seenIds.has(id)) return; // A repeated push or catch-up: shown once.
  seenIds.add(id);
  const item = messageElement(message);
  const waiting = pending.get(message.client_id);
  if (waiting) {
    waiting.element.replaceWith(item);
    pending.delete(message.client_id);
  } else {
    insertInOrder(item, message.sequence);
  }
  lastSequence = Math.max(lastSequence, message.sequence);
  sequenceShown(message.sequence);
  const mine = message.sender.id === config.userId;
  if (!mine) announcer.textContent = `${message.sender.name}: ${message.body}`;
  clearTyping(message.sender.id);
  list.scrollTop = list.scrollHeight;
  markRead();
  showSeen();
}

function sequenceShown(sequence, { through = false } = {}) {
  if (through) shownThrough = Math.max(shownThrough, sequence);
  else if (sequence > shownThrough) ahead.add(sequence);
  while (ahead.has(shownThrough + 1)) shownThrough += 1;
  for (const s of ahead) if (s <= shownThrough) ahead.delete(s);
  if (ahead.size && !catchingUp) sync(shownThrough);
}

function updateMessage(message) {
  if (message.conversation !== config.conversation) return;
  lastChange = Math.max(lastChange, message.change);
  const current = list.querySelector(`[data-id="${message.id}"]`);
  if (current) current.replaceWith(messageElement(message));
}

// Read receipts: tell the server how far we have read, when the page is seen
// (and the socket is open: the page may show before it connects).
function markRead() {
  if (document.hidden || lastSequence <= readSent) return;
  if (send({ type: "read", conversation: config.conversation, sequence: lastSequence })) {
    readSent = lastSequence;
  }
}

function showSeen() {
  const own = [...list.querySelectorAll(`.message.mine[data-sequence]`)].pop();
  if (!own) {
    seenLine.textContent = "";
    return;
  }
  const sequence = Number(own.dataset.sequence);
  const others = [...reads.entries()].filter(([id]) => id !== config.userId);
  const seenBy = others.filter(([, read]) => read >= sequence).length;
  if (config.kind === "direct") seenLine.textContent = seenBy ? "Seen" : "";
  else seenLine.textContent = seenBy ? `Seen by ${seenBy}` : "";
}

function clearTyping(userId) {
  const entry = typists.get(userId);
  if (entry) window.clearTimeout(entry.timer);
  typists.delete(userId);
  typingLine.textContent = [...typists.values()].map((t) => `${t.name} is typing…`).join(" ");
}

function showTyping(user) {
  clearTyping(user.id);
  typists.set(user.id, { name: user.name, timer: window.setTimeout(() => clearTyping(user.id), 5000) });
  typingLine.textContent = [...typists.values()].map((t) => `${t.name} is typing…`).join(" ");
}

function sendPending(clientId) {
  const entry = pending.get(clientId);
  if (!entry) return false;
  const frame = {
    type: "message.send",
    conversation: config.conversation,
    client_id: clientId,
    body: entry.body,
    attachments: entry.attachments,
  };
  if (entry.replyTo) frame.reply_to = entry.replyTo;
  return send(frame);
}

function sync(after) {
  catchingUp = send({
    type: "sync",
    conversations: { [config.conversation]: after },
    changes: { [config.conversation]: lastChange },
  });
}

onOpen(() => {
  status.textContent = "";
  // Catch up on what was stored while we were away, then resend what was
  // never acknowledged (the server stores each client_id once).
  sync(shownThrough);
  for (const clientId of pending.keys()) sendPending(clientId);
  markRead();
});

onFrame((frame) => {
  switch (frame.type) {
    case "message.new":
      showMessage(frame.message); // Other conversations: unread.js counts them.
      break;
    case "message.updated":
      updateMessage(frame.message);
      break;
    case "message.ack": {
      const entry = pending.get(frame.client_id);
      if (entry) {
        entry.element.classList.remove("failed");
        entry.element.querySelector("time").textContent = "sent";
      }
      break;
    }
    case "receipt":
      if (frame.conversation === config.conversation) {
        reads.set(frame.user_id, Math.max(reads.get(frame.user_id) || 0, frame.sequence));
        showSeen();
      }
      break;
    case "typing":
      if (frame.conversation === config.conversation) showTyping(frame.user);
      break;
    case "conversation.removed":
      if (frame.conversation === config.conversation) {
        status.textContent = "You are no longer in this conversation.";
        form.hidden = true;
      }
      break;
    case "sync.done":
      if (frame.conversation !== config.conversation) break;
      lastChange = Math.max(lastChange, frame.last_change);
      // The server sent every message it had up to last_sequence.
      catchingUp = false;
      sequenceShown(frame.last_sequence, { through: true });
      if (frame.more && !catchingUp) sync(shownThrough);
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

// "Load older": keyset pages from the history endpoint.
olderButton?.addEventListener("click", async () => {
  olderButton.disabled = true;
  try {
    const response = await fetch(`${config.historyUrl}?before=${firstSequence}`, {
      headers: { Accept: "application/json" },
    });
    if (!response.ok) throw new Error(String(response.status));
    const page = await response.json();
    const anchor = list.scrollHeight - list.scrollTop;
    for (const message of page.messages) {
      if (seenIds.has(String(message.id))) continue;
      seenIds.add(String(message.id));
      insertInOrder(messageElement(message), message.sequence);
    }
    if (page.messages.length) firstSequence = page.messages[0].sequence;
    olderItem.hidden = !page.more;
    list.scrollTop = list.scrollHeight - anchor; // Keep the reader's place.
  } catch (error) {
    status.textContent = "Could not load older messages.";
  } finally {
    olderButton.disabled = false;
  }
});
list.addEventListener("scroll", () => {
  if (list.scrollTop === 0 && !olderItem.hidden && !olderButton.disabled) olderButton.click();
});

// Message actions: reply, react, edit, delete.
list.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button || button.id === "load-older") return;
  const item = button.closest("[data-id]");
  if (!item) return;
  const messageId = Number(item.dataset.id);
  switch (button.dataset.action) {
    case "reply":
      replyTo = messageId;
      replying.querySelector("span").textContent = `Replying to ${item.querySelector(".sender")?.textContent || ""}`;
      replying.hidden = false;
      input.focus();
      break;
    case "react":
    case "unreact":
      send({ type: "reaction", message: messageId, emoji: button.dataset.emoji, added: button.dataset.action === "react" });
      break;
    case "edit": {
      const body = window.prompt("Edit your message", item.dataset.body);
      if (body !== null && body.trim() && body !== item.dataset.body) {
        send({ type: "message.edit", message: messageId, body });
      }
      break;
    }
    case "delete":
      if (window.confirm("Delete this message for everyone?")) send({ type: "message.delete", message: messageId });
      break;
    default:
      break;
  }
});

document.getElementById("cancel-reply").addEventListener("click", () => {
  replyTo = null;
  replying.hidden = true;
});

const files = composerAttachments({ form, input, onError: (text) => (status.textContent = text) });

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const body = input.value;
  const attachments = files.tokens();
  if (files.uploading()) {
    status.textContent = "Wait for the files to finish uploading.";
    return;
  }
  if (!body.trim() && attachments.length === 0) return;
  if (body.length > config.maxLength) {
    status.textContent = `A message has at most ${config.maxLength} characters.`;
    return;
  }
  const clientId = crypto.randomUUID();
  const element = messageElement({
    sender: { id: config.userId, name: "You" },
    body,
    created_at: new Date().toISOString(),
  });
  element.classList.add("pending");
  element.querySelector("time").textContent = "sending…";
  list.append(element);
  pending.set(clientId, { element, body, attachments, replyTo });
  files.clear();
  replyTo = null;
  replying.hidden = true;
  if (!sendPending(clientId)) status.textContent = "Reconnecting… your message will be sent then.";
  input.value = "";
  list.scrollTop = list.scrollHeight;
});

input.addEventListener("keydown", (event) => {
  // Enter sends, Shift+Enter makes a new line, as in most messengers.
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    form.requestSubmit();
  }
});

input.addEventListener("input", () => {
  // The server throttles too; this keeps the socket quiet.
  send({ type: "typing", conversation: config.conversation });
});

document.addEventListener("visibilitychange", markRead);

if (window.location.hash) document.querySelector(window.location.hash)?.scrollIntoView({ block: "center" });
else list.scrollTop = list.scrollHeight;
showSeen();
markRead();
