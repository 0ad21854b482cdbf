// Attachments: upload from the composer, pending chips, and how a message
// shows its files (image previews from the authorising thumbnail URL, file
// links otherwise).  All names go through textContent.

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

// The element listing a message's attachments, or null when it has none.
export function attachmentsElement(attachments) {
  if (!attachments || attachments.length === 0) return null;
  const list = document.createElement("ul");
  list.className = "attachments";
  for (const file of attachments) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = file.url;
    if (file.is_image && file.thumbnail_url) {
      link.className = "attachment-image";
      link.target = "_blank";
      link.rel = "noopener";
      const img = document.createElement("img");
      img.src = file.thumbnail_url;
      img.alt = file.name;
      img.loading = "lazy";
      if (file.width && file.height) {
        const scale = Math.min(1, 240 / Math.max(file.width, file.height));
        img.width = Math.round(file.width * scale);
        img.height = Math.round(file.height * scale);
      }
      link.append(img);
    } else {
      link.className = "attachment-file";
      link.download = file.name;
      link.textContent = `📄 ${file.name} (${formatSize(file.size)})`;
    }
    item.append(link);
    list.append(item);
  }
  return list;
}

// Wire the composer's file button.  Returns {tokens, clear}: the tokens of
// the uploads ready to send, and a way to forget them once sent.
export function composerAttachments({ form, input, onError }) {
  const picker = form.querySelector("#composer-file");
  const button = form.querySelector("#composer-attach");
  const chips = form.querySelector("#composer-attachments");
  if (!picker || !button || !chips) return { tokens: () => [], uploading: () => false, clear() {} };
  const uploadUrl = form.dataset.uploadUrl;
  const maxBytes = Number(form.dataset.maxBytes);
  const maxFiles = Number(form.dataset.maxFiles) || 10;
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const ready = new Map(); // token -> chip
  let inFlight = 0;

  function refresh() {
    // An empty body is fine when files go with it.
    input.required = ready.size === 0;
    chips.hidden = chips.children.length === 0;
  }

  function chip(name) {
    const item = document.createElement("li");
    const label = document.createElement("span");
    label.textContent = name;
    const state = document.createElement("span");
    state.className = "state";
    state.textContent = "uploading…";
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "×";
    remove.setAttribute("aria-label", `Remove ${name}`);
    item.append(label, state, remove);
    chips.append(item);
    return { item, state, remove };
  }

  async function upload(file) {
    const { item, state, remove } = chip(file.name);
    remove.addEventListener("click", () => {
      for (const [token, el] of ready) if (el === item) ready.delete(token);
      item.remove();
      refresh();
    });
    refresh();
    if (file.size > maxBytes) {
      state.textContent = `too large (max ${formatSize(maxBytes)})`;
      item.classList.add("failed");
      return;
    }
    const body = new FormData();
    body.append("file", file);
    inFlight += 1;
    try {
      const response = await fetch(uploadUrl, {
        method: "POST",
        body,
        headers: { "X-CSRFToken": csrf },
        credentials: "same-origin",
      });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) {
        state.textContent = data.message || "upload failed";
        item.classList.add("failed");
        return;
      }
      state.textContent = formatSize(data.size);
      ready.set(data.token, item);
    } catch {
      state.textContent = "upload failed";
      item.classList.add("failed");
    } finally {
      inFlight -= 1;
      refresh();
    }
  }

  button.addEventListener("click", () => picker.click());
  picker.addEventListener("change", () => {
    const files = [...picker.files];
    if (ready.size + files.length > maxFiles) {
      onError(`A message has at most ${maxFiles} attachments.`);
    }
    for (const file of files.slice(0, Math.max(0, maxFiles - ready.size))) upload(file);
    picker.value = "";
  });
  refresh();

  return {
    tokens: () => [...ready.keys()],
    uploading: () => inFlight > 0,
    clear() {
      ready.clear();
      chips.replaceChildren();
      refresh();
    },
  };
}
