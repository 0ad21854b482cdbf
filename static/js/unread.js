// Unread counts in the conversation list and the page title, kept live on
// every page that shows the list.
import { onFrame } from "./socket.js";

const configElement = document.getElementById("chat-config");
const openConversation = configElement ? JSON.parse(configElement.textContent).conversation : null;
const me = Number(document.body.dataset.userId);

function setUnread(conversationId, lastSeq, readSeq) {
  const item = document.querySelector(`#conversation-list li[data-conversation="${conversationId}"]`);
  if (!item) return;
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
  const total = [...document.querySelectorAll("#conversation-list .unread")]
    .map((b) => Number(b.textContent) || 0)
    .reduce((a, b) => a + b, 0);
  document.title = document.title.replace(/^\(\d+\) /, "");
  if (total) document.title = `(${total}) ${document.title}`;
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
