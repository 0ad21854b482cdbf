// The notification settings page: browser notifications and web push.
const config = JSON.parse(document.getElementById("push-config").textContent);
const status = document.getElementById("push-status");
const subscribeButton = document.getElementById("push-subscribe");
const unsubscribeButton = document.getElementById("push-unsubscribe");
const desktopButton = document.getElementById("desktop-enable");

function csrfToken() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || response.statusText);
  return answer;
}

function keyBytes(base64url) {
  const base64 = (base64url + "=".repeat((4 - (base64url.length % 4)) % 4))
    .replace(/-/g, "+")
    .replace(/_/g, "/");
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

desktopButton.addEventListener("click", async () => {
  if (!("Notification" in window)) {
    status.textContent = "This browser does not support notifications.";
    return;
  }
  const permission = await Notification.requestPermission();
  status.textContent = permission === "granted" ? "Notifications are on in this browser." : "Notifications are blocked in this browser.";
});

async function registration() {
  return navigator.serviceWorker.register(config.serviceWorker);
}

async function showState() {
  if (!subscribeButton) return;
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
    subscribeButton.disabled = true;
    status.textContent = "This browser does not support push notifications.";
    return;
  }
  const existing = await (await registration()).pushManager.getSubscription();
  subscribeButton.hidden = Boolean(existing);
  unsubscribeButton.hidden = !existing;
}

subscribeButton?.addEventListener("click", async () => {
  try {
    if ((await Notification.requestPermission()) !== "granted") {
      status.textContent = "Notifications are blocked in this browser.";
      return;
    }
    const subscription = await (await registration()).pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: keyBytes(config.publicKey),
    });
    await post(config.subscribeUrl, subscription.toJSON());
    status.textContent = "Push notifications are on in this browser.";
  } catch (error) {
    status.textContent = `Could not turn on push notifications: ${error.message}`;
  }
  showState();
});

unsubscribeButton?.addEventListener("click", async () => {
  const subscription = await (await registration()).pushManager.getSubscription();
  if (subscription) {
    await post(config.unsubscribeUrl, { endpoint: subscription.endpoint });
    await subscription.unsubscribe();
  }
  status.textContent = "Push notifications are off in this browser.";
  showState();
});

showState();
