// Contacts page: send its forms in the background and redraw the lists,
// and redraw when a contact notification arrives.  Without JavaScript the
// same forms post and redirect.

const root = () => document.getElementById("contacts-root");
const status = document.getElementById("page-status");

async function redraw() {
  const response = await fetch(window.location.href, { headers: { Accept: "text/html" } });
  if (!response.ok) return;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const fresh = page.getElementById("contacts-root");
  if (fresh) root().replaceWith(fresh);
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
