// The page's one WebSocket, shared by its modules: reconnects with backoff.
// An idle socket sends nothing: the server keeps it counted online.
// Protocol: docs/websocket-protocol.md.

const frameListeners = new Set();
const openListeners = new Set();
let socket = null;
let retryDelay = 500;

export function onFrame(listener) {
  frameListeners.add(listener);
}

// Called on every (re)connect: the place to catch up and resend.
export function onOpen(listener) {
  openListeners.add(listener);
  if (socket && socket.readyState === WebSocket.OPEN) listener();
}

export function send(frame) {
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify(frame));
    return true;
  }
  return false;
}

function connect() {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${window.location.host}/ws/`);
  socket.addEventListener("open", () => {
    retryDelay = 500;
    document.documentElement.dataset.socket = "open";
    for (const listener of openListeners) listener();
  });
  socket.addEventListener("message", (event) => {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch (error) {
      console.error("bad frame from server", error);
      return;
    }
    for (const listener of frameListeners) listener(frame);
  });
  socket.addEventListener("close", (event) => {
    document.documentElement.dataset.socket = "closed";
    if (event.code === 4401 || event.code === 4403) return; // Logged out: stay closed.
    const delay = retryDelay * (0.75 + Math.random() * 0.5);
    retryDelay = Math.min(retryDelay * 2, 15000);
    window.setTimeout(connect, delay);
  });
}

connect();
