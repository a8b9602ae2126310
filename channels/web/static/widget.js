/* Frontdesk chat widget. No build step, no framework, no dependencies.
 *
 * Embed with one tag (every data- attribute is optional):
 *   <script src="https://support.example/widget.js" data-server="https://support.example"
 *           data-title="Help" data-color="#2f5d50" data-text-color="#ffffff" data-lang="en"
 *           data-name="Robin" data-open="false" async></script>
 *
 * Everything a customer or agent typed is put into the page with textContent, never as HTML.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__frontdeskWidget) { return; }
  window.__frontdeskWidget = true;
  var data = script.dataset;
  var server = (data.server || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  var lang = (data.lang || document.documentElement.lang || "en").slice(0, 2).toLowerCase();
  var WORDS = {
    en: { open: "Chat with us", close: "Close chat", placeholder: "Type your message",
          send: "Send", typing: "is typing", joined: "{name} from support joined",
          you: "You", offline: "Reconnecting", failed: "Not sent yet, retrying",
          input: "Message" },
    de: { open: "Chat starten", close: "Chat schließen", placeholder: "Ihre Nachricht",
          send: "Senden", typing: "schreibt", joined: "{name} vom Support ist dabei",
          you: "Sie", offline: "Verbindung wird wiederhergestellt",
          failed: "Noch nicht gesendet, neuer Versuch", input: "Nachricht" },
    fr: { open: "Discuter avec nous", close: "Fermer le chat", placeholder: "Votre message",
          send: "Envoyer", typing: "écrit", joined: "{name} du support a rejoint",
          you: "Vous", offline: "Reconnexion", failed: "Pas encore envoyé, nouvel essai",
          input: "Message" },
    es: { open: "Chatea con nosotros", close: "Cerrar chat", placeholder: "Escribe tu mensaje",
          send: "Enviar", typing: "está escribiendo", joined: "{name} de soporte se unió",
          you: "Tú", offline: "Reconectando", failed: "Aún no enviado, reintentando",
          input: "Mensaje" }
  };
  var t = WORDS[lang] || WORDS.en;
  var title = data.title || "Support";
  var storageKey = "frontdesk:" + server;
  var state = load();
  var socket = null, retries = 0, lastId = 0, rendered = {}, opening = null, typingTimer = 0;

  function load() {
    try { return JSON.parse(localStorage.getItem(storageKey) || "{}") || {}; }
    catch (e) { return {}; }
  }
  function save() {
    try { localStorage.setItem(storageKey, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function newId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  // -- the page parts ---------------------------------------------------------------------
  var css = el("link");
  css.rel = "stylesheet";
  css.href = server + "/widget.css";
  document.head.appendChild(css);

  var root = el("div", "fd-root");
  root.setAttribute("lang", lang);
  if (data.color) { root.style.setProperty("--fd-accent", data.color); }
  if (data.textColor) { root.style.setProperty("--fd-accent-text", data.textColor); }

  var launcher = el("button", "fd-launcher", t.open);
  launcher.type = "button";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "fd-panel");

  var panel = el("section", "fd-panel");
  panel.id = "fd-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", title);

  var header = el("header", "fd-header");
  var heading = el("h2", "fd-title", title);
  var close = el("button", "fd-close", "×");
  close.type = "button";
  close.setAttribute("aria-label", t.close);
  header.appendChild(heading);
  header.appendChild(close);

  var log = el("ol", "fd-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", title);
  log.tabIndex = 0;

  var typing = el("div", "fd-typing");
  typing.hidden = true;
  typing.setAttribute("aria-hidden", "true");
  typing.appendChild(el("span", "fd-dot"));
  typing.appendChild(el("span", "fd-dot"));
  typing.appendChild(el("span", "fd-dot"));
  typing.appendChild(el("span", "fd-typing-text", title + " " + t.typing));

  var status = el("div", "fd-status");
  status.setAttribute("role", "status");

  var form = el("form", "fd-form");
  var label = el("label", "fd-visually-hidden", t.input);
  label.htmlFor = "fd-input";
  var input = el("textarea", "fd-input");
  input.id = "fd-input";
  input.rows = 1;
  input.placeholder = t.placeholder;
  input.maxLength = 4000;
  var send = el("button", "fd-send", t.send);
  send.type = "submit";
  form.appendChild(label);
  form.appendChild(input);
  form.appendChild(send);

  panel.appendChild(header);
  panel.appendChild(log);
  panel.appendChild(typing);
  panel.appendChild(status);
  panel.appendChild(form);
  root.appendChild(panel);
  root.appendChild(launcher);
  document.body.appendChild(root);

  // -- Markdown-lite: **bold**, `code`, [text](https://...), bare links, "- " lists ----------
  var INLINE = /(\*\*([^*]+)\*\*)|(`([^`]+)`)|(\[([^\]]+)\]\((https?:\/\/[^\s)]+)\))|(https?:\/\/[^\s<>"')]+[^\s<>"').,;:!?])/g;
  function link(href, text) {
    var a = el("a", "fd-link", text);
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer nofollow";
    return a;
  }
  function inline(parent, text) {
    var at = 0, m;
    INLINE.lastIndex = 0;
    while ((m = INLINE.exec(text)) !== null) {
      if (m.index > at) { parent.appendChild(document.createTextNode(text.slice(at, m.index))); }
      if (m[1]) { parent.appendChild(el("strong", null, m[2])); }
      else if (m[3]) { parent.appendChild(el("code", null, m[4])); }
      else if (m[5]) { parent.appendChild(link(m[7], m[6])); }
      else { parent.appendChild(link(m[8], m[8])); }
      at = m.index + m[0].length;
    }
    if (at < text.length) { parent.appendChild(document.createTextNode(text.slice(at))); }
  }
  function render(text) {
    var body = el("div", "fd-text"), list = null, para = null;
    text.split(/\r?\n/).forEach(function (line) {
      var item = /^\s*[-*•]\s+(.*)$/.exec(line);
      if (item) {
        if (!list) { list = el("ul"); body.appendChild(list); }
        var li = el("li");
        inline(li, item[1]);
        list.appendChild(li);
        para = null;
        return;
      }
      list = null;
      if (!line.trim()) { para = null; return; }
      if (para) { para.appendChild(el("br")); } else { para = el("p"); body.appendChild(para); }
      inline(para, line);
    });
    return body;
  }

  // -- messages ---------------------------------------------------------------------------
  function who(message) {
    if (message.role === "customer") { return t.you; }
    if (message.role === "agent") { return message.sender_name || title; }
    return title;
  }
  function show(message) {
    if (rendered[message.id]) { return; }
    lastId = Math.max(lastId, message.id);
    rendered[message.id] = true;
    var pending = log.querySelector('[data-client="' + cssEscape(message.message_id) + '"]');
    if (pending) {
      pending.classList.remove("fd-pending");
      pending.removeAttribute("data-client");
      pending.dataset.id = message.id;
      return;
    }
    log.appendChild(bubble(message));
    scroll();
  }
  function bubble(message) {
    var item = el("li", "fd-msg fd-" + message.role);
    item.dataset.id = message.id;
    if (message.kind === "handoff") {
      item.className = "fd-msg fd-notice";
      item.textContent = t.joined.replace("{name}", message.sender_name || "");
      return item;
    }
    var meta = el("span", "fd-who", who(message));
    item.appendChild(meta);
    item.appendChild(render(message.text));
    return item;
  }
  function cssEscape(value) {
    return String(value).replace(/["\\]/g, "\\$&");
  }
  function scroll() { log.scrollTop = log.scrollHeight; }

  // -- the conversation and its socket ----------------------------------------------------
  function ensureConversation() {
    if (state.token && state.expires_at * 1000 > Date.now() + 60000) {
      return Promise.resolve();
    }
    if (opening) { return opening; }
    var body = data.name ? { display_name: data.name } : {};
    opening = fetch(server + "/api/v1/conversations", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body), credentials: "omit"
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (conv) {
      state = { conversation: conv.id, token: conv.token, expires_at: conv.expires_at,
                pending: [], open: state.open };
      save();
    }).finally(function () { opening = null; });
    return opening;
  }
  function connect() {
    if (socket) { return; }
    ensureConversation().then(function () {
      var url = server.replace(/^http/, "ws") + "/api/v1/ws?token=" +
        encodeURIComponent(state.token) + "&after=" + lastId;
      var ws = new WebSocket(url);
      socket = ws;
      ws.onopen = function () {
        retries = 0;
        status.textContent = "";
        (state.pending || []).forEach(transmit);
      };
      ws.onmessage = function (event) { receive(JSON.parse(event.data)); };
      ws.onclose = function () {
        socket = null;
        retries += 1;
        status.textContent = t.offline;
        setTimeout(connect, Math.min(30000, 500 * Math.pow(2, retries)));
      };
    }).catch(function () {
      retries += 1;
      status.textContent = t.offline;
      setTimeout(connect, Math.min(30000, 500 * Math.pow(2, retries)));
    });
  }
  function receive(frame) {
    if (frame.type === "message") {
      show(frame.message);
      if (frame.message.role !== "customer") { setTyping(false); }
    } else if (frame.type === "typing" || frame.type === "hello") {
      setTyping(frame.on || frame.typing);
    } else if (frame.type === "ack") {
      state.pending = (state.pending || []).filter(function (p) {
        return p.client_id !== frame.client_id;
      });
      save();
      show(frame.message);
      setTyping(frame.typing);
    } else if (frame.type === "error" && frame.client_id) {
      status.textContent = t.failed;
    }
  }
  function setTyping(on) {
    typing.hidden = !on;
    clearTimeout(typingTimer);
    if (on) {
      scroll();
      typingTimer = setTimeout(function () { typing.hidden = true; }, 30000);
    }
  }
  function transmit(pending) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "message", text: pending.text,
                                   client_id: pending.client_id }));
    }
  }
  function submit() {
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    var pending = { client_id: newId(), text: text };
    state.pending = (state.pending || []).concat([pending]);
    save();
    var item = bubble({ id: 0, role: "customer", text: text, kind: "message" });
    item.classList.add("fd-pending");
    item.setAttribute("data-client", state.conversation + ":" + pending.client_id);
    log.appendChild(item);
    scroll();
    transmit(pending);
    if (!socket) { connect(); }
  }

  // -- opening, closing, keyboard ---------------------------------------------------------
  function setOpen(open) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    state.open = open;
    save();
    if (open) { connect(); input.focus(); } else { launcher.focus(); }
  }
  launcher.addEventListener("click", function () { setOpen(panel.hidden); });
  close.addEventListener("click", function () { setOpen(false); });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { setOpen(false); }
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  form.addEventListener("submit", function (event) { event.preventDefault(); submit(); });

  if (state.token) { connect(); }  // a conversation from before this page load: history
  if (state.open || data.open === "true") { setOpen(true); }
})();
