// The chat client both pages share (the playground, adapters/playground/page.html, and the
// web direct chat, adapters/webchat/page.html): drawing the bot's messages, the composer,
// reading files to send. Included inline by adapters.chatui.include. No words of its own:
// each page passes its own, in its language.
"use strict";
const ChatUI = (() => {
  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "style") node.setAttribute("style", value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function newId() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function nearBottom(log) {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  }

  function size(bytes) {
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  }

  // Only what the server promises: <b>, <i>, <code>, <a href>, <br>; anything else is unwrapped.
  const ALLOWED = new Set(["B", "I", "CODE", "A", "BR", "STRONG", "EM"]);
  function safeHtml(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    const walk = (parent) => {
      for (const node of Array.from(parent.childNodes)) {
        if (node.nodeType === Node.TEXT_NODE) continue;
        if (node.nodeType !== Node.ELEMENT_NODE || !ALLOWED.has(node.tagName)) {
          if (node.nodeType === Node.ELEMENT_NODE) {
            walk(node);
            node.replaceWith(...node.childNodes);
          } else {
            node.remove();
          }
          continue;
        }
        const href = node.tagName === "A" ? node.getAttribute("href") : null;
        for (const attr of Array.from(node.attributes)) node.removeAttribute(attr.name);
        if (href !== null && /^(https?:|mailto:|tg:)/i.test(href.trim())) {
          node.setAttribute("href", href.trim());
          node.setAttribute("target", "_blank");
          node.setAttribute("rel", "noopener noreferrer");
        }
        walk(node);
      }
    };
    walk(template.content);
    return template.content;
  }

  // A PNG names its size in its header: the chat can make room before the image decodes.
  function pngSize(image) {
    if (image.mime !== "image/png") return {};
    try {
      const head = atob(image.data.slice(0, 32));
      const read = (at) => ((head.charCodeAt(at) << 24) | (head.charCodeAt(at + 1) << 16) |
                            (head.charCodeAt(at + 2) << 8) | head.charCodeAt(at + 3)) >>> 0;
      const width = read(16), height = read(20);
      return width > 0 && height > 0 ? { width: String(width), height: String(height) } : {};
    } catch { return {}; }
  }

  // The bubble of one bot message: its text (HTML made safe), its image or its document.
  // `loaded` runs when an image has its height (the chat keeps to its bottom then).
  function botBubble(message, { imageAlt, loaded = () => {} }) {
    const body = el("div", { class: "body" });
    if (typeof message.html === "string") body.append(safeHtml(message.html));
    else body.textContent = message.text || "";
    const bubble = el("div", { class: "bubble" }, body);
    const image = message.image;
    if (image && typeof image.data === "string" && /^image\/[\w.+-]+$/.test(image.mime || "")) {
      const img = el("img", { src: `data:${image.mime};base64,${image.data}`, alt: imageAlt,
                              "data-testid": "bot-image", ...pngSize(image) });
      img.addEventListener("load", loaded);
      img.addEventListener("error", loaded);
      bubble.append(img);
    }
    const file = message.document;
    if (file && typeof file.data === "string" && typeof file.name === "string") {
      // saved under its name, never opened here: the type is the bot's, not to be trusted
      bubble.append(el("a", { class: "file", download: file.name, "data-testid": "bot-file",
                              href: `data:application/octet-stream;base64,${file.data}`,
                              text: `📎 ${file.name}` }));
    }
    return bubble;
  }

  // The message's buttons, rows as the bot sent them; a link button opens its link.
  function choiceBox(message, press) {
    const buttons = [];
    if (!Array.isArray(message.choices) || !message.choices.length) return { box: null, buttons };
    const box = el("div", { class: "choices" });
    for (const row of message.choices) {
      const line = el("div", { class: "row" });
      for (const choice of row) {
        if (choice.url && /^https?:/i.test(choice.url)) {
          line.append(el("a", { class: "link-button", href: choice.url, target: "_blank",
                                rel: "noopener noreferrer", text: choice.label }));
          continue;
        }
        const button = el("button", {
          type: "button", "data-testid": "choice", "data-payload": choice.payload,
          text: choice.label,
        });
        button.addEventListener("click", () => press(choice));
        buttons.push(button);
        line.append(button);
      }
      box.append(line);
    }
    return { box, buttons };
  }

  function base64Of(bytes) {
    let binary = "";
    for (let at = 0; at < bytes.length; at += 0x8000) {
      binary += String.fromCharCode(...bytes.subarray(at, at + 0x8000));
    }
    return btoa(binary);
  }

  // A file as the webhook protocol sends it: {name, mime, data: base64}, and its size.
  async function fileField(file) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    return { field: { name: file.name, mime: file.type || "application/octet-stream",
                      data: base64Of(bytes) }, size: bytes.length };
  }

  function grow(input) {
    input.style.height = "auto";
    input.style.height = `${input.scrollHeight + 2}px`;
    input.style.overflowY = input.scrollHeight > input.clientHeight + 2 ? "auto" : "hidden";
  }

  // Enter sends; Shift+Enter is a new line; Enter that ends an IME composition is not a send.
  function composer({ form, input, picker, text, file }) {
    const submit = () => {
      const value = input.value;
      if (!value.trim()) return;
      input.value = "";
      grow(input);
      text(value);
    };
    form.addEventListener("submit", (event) => { event.preventDefault(); submit(); });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        submit();
      }
    });
    input.addEventListener("input", () => grow(input));
    picker.addEventListener("change", () => {
      const chosen = picker.files && picker.files[0];
      picker.value = "";
      if (chosen) file(chosen);
    });
  }

  const CLIP = '<svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" ' +
    'stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">' +
    '<path d="M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6' +
    'a1.8 1.8 0 0 1-2.6-2.6l7.9-7.9"/></svg>';

  const SEND = '<svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" ' +
    'stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">' +
    '<path d="M22 2L11 13"/><path d="M22 2l-7 20-4-9-9-4 20-7z"/></svg>';

  return { el, newId, nearBottom, size, safeHtml, pngSize, botBubble, choiceBox, base64Of,
           fileField, grow, composer, CLIP, SEND };
})();
