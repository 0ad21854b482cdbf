// Contacts page: send its forms in the background and redraw the lists,
// redraw when a contact notification arrives, and show contacts going
// online and offline as it happens.  Without JavaScript the same forms post
// and redirect.
import { onFrame } from "./socket.js";

const root = () => document.getElementById("contacts-root");
const status = document.getElementById("page-status");
// Presence heard live, kept so a redraw from a page rendered a moment
// earlier does not undo it.
const presence = new Map(); // user id -> online

async function redraw() {
  const response = await fetch(window.location.href, { headers: { Accept: "text/html" } });
  if (!response.ok) return;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const fresh = page.getElementById("contacts-root");
  if (!fresh) return;
  root().replaceWith(fresh);
  showPresence();
}

document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-async")) return;
  event.preventDefault();
  const button = form.querySelector("button");
  if (button) button.disabled = true;
  try {
    const response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    const answer = await response.json();
    status.textContent = answer.message;
    await redraw();
  } catch (error) {
    form.submit(); // Fall back to the plain form.
  }
});

window.addEventListener("messenger:notification", (event) => {
  if (event.detail.kind.startsWith("contact.")) redraw();
});

function showPresence() {
  for (const [userId, online] of presence) {
    const label = root().querySelector(`li[data-user="${userId}"] .presence`);
    if (!label) continue;
    label.textContent = online ? "online" : "offline";
    label.classList.toggle("online", online);
    label.classList.toggle("muted", !online);
  }
}

onFrame((frame) => {
  if (frame.type !== "presence") return;
  presence.set(Number(frame.user_id), frame.online);
  showPresence();
});
