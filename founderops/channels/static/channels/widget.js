/* FounderOps chat widget: <script src="https://ops.example.com/static/channels/widget.js"
 * data-founderops async></script>. No dependency, no cookie; a Shadow DOM isolates its styles
 * and server text goes in with textContent only, never as HTML. */
(function () {
  "use strict";
  var me = document.currentScript || document.querySelector("script[data-founderops]");
  if (!me || window.__founderopsWidget) return;
  window.__founderopsWidget = true;
  var API = new URL(me.src, location.href).origin + "/widget/v1/";
  var TITLE = me.getAttribute("data-title") || "Questions? Ask us";
  var KEY = "founderops-widget", ACCENT = "#0f766e";
  var token = null, ready = 0, conversation = "", email = "", busy = false;

  try { var kept = JSON.parse(sessionStorage.getItem(KEY) || "{}"); conversation = kept.c || ""; email = kept.e || ""; } catch (e) {}
  function save() {
    try { sessionStorage.setItem(KEY, JSON.stringify({ c: conversation, e: email })); } catch (e) {}
  }
  function rid() {
    var a = crypto.getRandomValues(new Uint8Array(12));
    return Array.prototype.map.call(a, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }
  function el(tag, attrs, text) {
    var n = document.createElement(tag);
    for (var k in attrs || {}) n.setAttribute(k, attrs[k]);
    if (text != null) n.textContent = text;
    return n;
  }

  var CSS = ("*{box-sizing:border-box;font:inherit;color:inherit}[hidden]{display:none!important}" +
    "#fo-panel,#fo-launcher{font:15px/1.45 system-ui,sans-serif;color:#1d2630;text-align:left}" +
    "#fo-launcher,.fo-send{border:0;border-radius:8px;padding:8px 16px;background:$A;color:#fff;font-weight:600;cursor:pointer}" +
    "#fo-launcher{border-radius:999px;padding:12px 18px;box-shadow:0 4px 14px #0003}" +
    "button:focus-visible,textarea:focus,input:focus{outline:2px solid $A;outline-offset:2px}" +
    "#fo-panel{position:absolute;right:0;bottom:56px;width:360px;max-height:min(560px,calc(100vh - 88px));display:flex;flex-direction:column;background:#fff;border:1px solid #e1e5ea;border-radius:12px;box-shadow:0 10px 30px #0003;overflow:hidden}" +
    "header{display:flex;align-items:center;justify-content:space-between;padding:10px 14px;background:$A;color:#fff}" +
    "h2{margin:0;font-size:16px;font-weight:650}" +
    "#fo-close{border:0;background:none;color:#fff;font-size:22px;cursor:pointer;padding:0 8px}" +
    "#fo-log{flex:1;overflow-y:auto;padding:12px 14px;display:flex;flex-direction:column;gap:8px;min-height:80px}" +
    ".fo-msg{padding:8px 11px;border-radius:10px;max-width:90%;white-space:pre-wrap;overflow-wrap:anywhere;align-self:flex-start;background:#f0f3f5}" +
    ".fo-me{align-self:flex-end;background:#e3f3f1}" +
    ".fo-rate{display:flex;gap:6px;margin-top:6px}.fo-rate button{border:1px solid #e1e5ea;background:#fff;border-radius:8px;padding:3px 10px;cursor:pointer}" +
    ".fo-rate [aria-pressed=true]{background:#e3f3f1;border-color:$A}" +
    "form{padding:10px 14px;border-top:1px solid #e1e5ea;display:flex;flex-direction:column;gap:4px}" +
    "label{font-size:13px;font-weight:600;color:#5f6b78}" +
    "textarea,input{width:100%;font-size:16px;padding:8px 10px;border:1px solid #c9d0d8;border-radius:8px;background:#fff;color:#1d2630}" +
    "textarea{resize:vertical;min-height:64px}.fo-send{margin-top:6px;align-self:flex-end}.fo-send:disabled{opacity:.6}" +
    "#fo-status{padding:0 14px;font-size:13px;color:#5f6b78}#fo-status.fo-error{color:#b42318;padding:6px 14px}" +
    ".fo-hp{position:absolute;left:-9999px;width:1px;height:1px;overflow:hidden}" +
    "@media (max-width:480px){#fo-panel{position:fixed;inset:0;width:auto;max-height:none;border-radius:0}}").split("$A").join(ACCENT);

  // The page's own CSS reaches the host element (and, by inheritance, the inside): inline
  // !important declarations are the only ones that outrank it.
  var host = el("div", { id: "founderops-widget", style: "all:initial!important;position:fixed!important;right:16px!important;bottom:16px!important;z-index:2147483000!important" });
  var root = host.attachShadow({ mode: "open" });
  root.appendChild(el("style", {}, CSS));
  var launcher = el("button", { id: "fo-launcher", type: "button", "aria-expanded": "false", "aria-controls": "fo-panel", "aria-label": "Open support chat" }, TITLE);
  var panel = el("div", { id: "fo-panel", role: "dialog", "aria-labelledby": "fo-title", hidden: "" });
  var head = el("header");
  head.appendChild(el("h2", { id: "fo-title" }, TITLE));
  var closer = head.appendChild(el("button", { id: "fo-close", type: "button", "aria-label": "Close support chat" }, "\u00d7"));
  var log = el("div", { id: "fo-log", role: "log", "aria-live": "polite", "aria-label": "Conversation" });
  var status = el("div", { id: "fo-status", role: "status", "aria-live": "polite" });

  function field(f, id, label, tag, attrs) {
    f.appendChild(el("label", { for: id }, label));
    attrs.id = id;
    return f.appendChild(el(tag, attrs));
  }
  var form = el("form", { id: "fo-form", novalidate: "" });
  var question = field(form, "fo-question", "Your question", "textarea", { name: "question", rows: "3", maxlength: "2000" });
  var emailIn = field(form, "fo-email", "Your e-mail (optional, in case we need to reply)", "input", { name: "email", type: "email", autocomplete: "email" });
  // The honeypot: people never see it, bots fill it in.
  var honey = field(form.appendChild(el("div", { class: "fo-hp", "aria-hidden": "true" })), "fo-website", "Leave this empty", "input", { name: "website", tabindex: "-1", autocomplete: "off" });
  var send = form.appendChild(el("button", { id: "fo-send", class: "fo-send", type: "submit" }, "Send"));
  var eform = el("form", { id: "fo-email-form", novalidate: "", hidden: "" });
  var handoffEmail = field(eform, "fo-handoff-email", "Your e-mail address", "input", { name: "email", type: "email", autocomplete: "email" });
  var esend = eform.appendChild(el("button", { id: "fo-email-send", class: "fo-send", type: "submit" }, "Send my e-mail"));
  [head, log, status, form, eform].forEach(function (n) { panel.appendChild(n); });
  root.appendChild(panel);
  root.appendChild(launcher);

  function say(text, mine) {
    var m = log.appendChild(el("div", { class: mine ? "fo-msg fo-me" : "fo-msg fo-bot" }, text));
    log.scrollTop = mine ? log.scrollHeight : m.offsetTop - log.offsetTop - 12; // an answer from its start
    return m;
  }
  function note(text, isError) {
    status.textContent = text || "";
    status.className = isError ? "fo-error" : "";
  }
  function setBusy(on) {
    busy = send.disabled = esend.disabled = on;
    note(on ? "Sending\u2026" : "");
  }
  function offline() { setBusy(false); note("Could not reach support. Check your connection and try again.", true); }

  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    if (!token) getToken();
    (eform.hidden ? question : handoffEmail).focus();
  }
  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }
  launcher.addEventListener("click", function () { panel.hidden ? open() : close(); });
  closer.addEventListener("click", close);
  root.addEventListener("keydown", function (e) { if (e.key === "Escape" && !panel.hidden) { e.preventDefault(); close(); } });

  function call(path, body) {
    var init = { method: body ? "POST" : "GET", credentials: "omit" };
    if (body) { init.headers = { "Content-Type": "application/json" }; init.body = JSON.stringify(body); }
    return fetch(API + path, init).then(function (r) {
      return r.json().then(function (data) { return { ok: r.ok, data: data }; }, function () {
        return { ok: false, data: { detail: "Support is not available right now (" + r.status + ")." } };
      });
    });
  }
  function getToken() {
    token = call("session").then(function (r) {
      if (!r.ok) return Promise.reject(r.data);
      ready = Date.now() + 1000 * (r.data.min_wait_seconds || 0) + 200;
      return r.data.token;
    });
    token.catch(function () { token = null; });
    return token;
  }
  function wait(seconds) { return new Promise(function (ok) { setTimeout(ok, seconds * 1000); }); }

  /* One send, retried once with the same request_id (stored once) when the form token or the
   * conversation needs renewing. The server refuses a form younger than min_wait_seconds. */
  function ask(body, retried) {
    return (token || getToken()).then(function (t) {
      body.token = t;
      return wait(Math.max(0, ready - Date.now()) / 1000);
    }).then(function () { return call("ask", body); }).then(function (r) {
      var code = (r.data && r.data.code) || "";
      if (r.ok || retried) return r;
      if (code === "too_fast") return wait(r.data.retry_after || 2).then(function () { return ask(body, true); });
      if (/^token_/.test(code)) token = null;
      else if (/^conversation_(expired|invalid)$/.test(code)) { conversation = ""; delete body.conversation; save(); }
      else return r;
      return ask(body, true);
    });
  }

  function show(r, body) {
    var d = r.data || {};
    if (!r.ok) {
      if (body.question && !question.value) question.value = body.question;
      return note(d.detail || "Something went wrong. Please try again.", true);
    }
    conversation = d.conversation || conversation;
    email = d.email || email;
    save();
    var m = say(d.text), asked = !eform.hidden;
    eform.hidden = d.status !== "need_email";
    if (!eform.hidden) handoffEmail.focus();
    else if (asked) question.focus(); // the focused field just went away
    if (d.status === "answered") {
      m.setAttribute("data-message-id", d.message_id);
      m.appendChild(rating(d.rating_token));
    }
  }

  function rating(rt) {
    var box = el("div", { class: "fo-rate", role: "group", "aria-label": "Rate this answer" });
    [["good", "\ud83d\udc4d Yes", "Yes, this answered my question"], ["bad", "\ud83d\udc4e No", "No, this did not help"]].forEach(function (o) {
      var b = box.appendChild(el("button", { type: "button", class: "fo-rate-" + o[0], "aria-label": o[2], "aria-pressed": "false" }, o[1]));
      b.addEventListener("click", function () {
        call("rate", { rating_token: rt, score: o[0] }).then(function (r) {
          if (!r.ok) return note(r.data.detail || "Could not save your rating.", true);
          box.querySelectorAll("button").forEach(function (x) { x.setAttribute("aria-pressed", String(x === b)); });
          note(r.data.text);
        }, offline);
      });
    });
    return box;
  }

  function submit(body, echo) {
    if (busy) return;
    setBusy(true);
    say(echo, true);
    body.request_id = rid();
    body.website = honey.value;
    if (conversation) body.conversation = conversation;
    ask(body, false).then(function (r) { setBusy(false); show(r, body); }, offline);
  }
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var q = question.value.trim();
    if (!q) { note("Type your question first.", true); return question.focus(); }
    question.value = "";
    submit({ question: q, email: emailIn.value.trim() || email }, q);
  });
  question.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); send.click(); }
  });
  eform.addEventListener("submit", function (e) {
    e.preventDefault();
    var a = handoffEmail.value.trim();
    if (!a) { note("Type your e-mail address.", true); return handoffEmail.focus(); }
    emailIn.value = a;
    submit({ email: a }, a);
  });

  emailIn.value = email;
  (document.body || document.documentElement).appendChild(host);
})();
