// FounderOps cockpit: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // Ask before a button marked data-confirm submits (e.g. closing a ticket without a reply).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // One click, one action: after a POST form submits, its buttons wait for the next page.
  // The server refuses a second decision anyway; this only spares the founder the message.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.method !== "post" || event.defaultPrevented) {
      return;
    }
    if (form.dataset.submitted) {
      event.preventDefault();
      return;
    }
    form.dataset.submitted = "1";
    // Disable after the browser has collected the form data, so no field is dropped.
    window.setTimeout(function () {
      form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    }, 0);
  });

  // Coming back with the browser's back button restores a page from cache: re-arm its forms.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) {
      return;
    }
    document.querySelectorAll("form[data-submitted]").forEach(function (form) {
      delete form.dataset.submitted;
      form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
    });
  });
})();
