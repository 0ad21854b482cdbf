// Unread counts in the conversation list and the page title, kept live on
// every page that shows the list; a conversation new to this page (someone
// started one with us) is fetched into the list when its first message comes.
import { onFrame } from "./socket.js";

const configElement = document.getElementById("chat-config");
const openConversation = configElement ? JSON.parse(configElement.textContent).conversation : null;
const me = Number(document.body.dataset.userId);
const unknown = new Map(); // conversation id -> [last, read] heard before the list showed it
let fetching = null;

function showTotal() {
  const total = [...document.querySelectorAll("#conversation-list .unread")]
    .map((b) => Number(b.textContent) || 0)
    .reduce((a, b) => a + b, Number(document.getElementById("conversation-list")?.dataset.hiddenUnread) || 0);
  document.title = document.title.replace(/^\(\d+\) /, "");
  if (total) document.title = `(${total}) ${document.title}`;
}

// Swap in the server's list, keeping what this page heard live (the
// sequences only grow, so the larger of the two is the newer).
async function fetchList() {
  const list = document.getElementById("conversation-list");
  const response = await fetch(list.dataset.url, { headers: { Accept: "text/html" } });
  if (!response.ok) return;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const fresh = page.getElementById("conversation-list");
  if (!fresh) return;
  const heard = [...list.querySelectorAll("li[data-conversation]")].map((item) => [
    Number(item.dataset.conversation),
    [Number(item.dataset.lastSequence), Number(item.dataset.readSequence)],
  ]);
  const current = list.querySelector("a[aria-current]")?.getAttribute("href");
  if (current) fresh.querySelector(`a[href="${current}"]`)?.setAttribute("aria-current", "page");
  list.replaceWith(fresh);
  const missed = [...unknown];
  unknown.clear();
  for (const [conversationId, [lastSeq, readSeq]] of [...heard, ...missed]) {
    setUnread(conversationId, lastSeq, readSeq);
  }
  showTotal();
}

function setUnread(conversationId, lastSeq, readSeq) {
  const item = document.querySelector(`#conversation-list li[data-conversation="${conversationId}"]`);
  if (!item) {
    const [last, read] = unknown.get(conversationId) || [0, 0];
    unknown.set(conversationId, [Math.max(last, lastSeq ?? 0), Math.max(read, readSeq ?? 0)]);
    fetching ??= fetchList().finally(() => {
      fetching = null;
    });
    return;
  }
  if (lastSeq !== undefined) {
    item.dataset.lastSequence = String(Math.max(Number(item.dataset.lastSequence), lastSeq));
  }
  if (readSeq !== undefined) {
    item.dataset.readSequence = String(Math.max(Number(item.dataset.readSequence), readSeq));
  }
  const unread = Math.max(0, Number(item.dataset.lastSequence) - Number(item.dataset.readSequence));
  const badge = item.querySelector(".unread");
  badge.textContent = String(unread);
  badge.hidden = unread === 0;
  badge.setAttribute("aria-label", `${unread} unread`);
  showTotal();
}

onFrame((frame) => {
  if (frame.type === "message.new") {
    const { conversation, sequence, sender } = frame.message;
    // Writing is reading; the open conversation is read by the chat module.
    const read = sender.id === me ? sequence : undefined;
    if (conversation !== openConversation || read !== undefined) setUnread(conversation, sequence, read);
  } else if (frame.type === "receipt" && frame.user_id === me) {
    setUnread(frame.conversation, undefined, frame.sequence);
  }
});
