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

// The cockpit's keyboard shortcuts (documented on each page that has them, "?" shows all):
// j/k move through a list, Enter/o open, a approve, e edit the draft, r reject, / search.
// A shortcut never fires while the founder types in a field or holds a modifier key.
(function () {
  "use strict";

  function typing(target) {
    if (!target || !target.closest) {
      return false;
    }
    return Boolean(target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']"));
  }

  function items() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-nav-list] [data-nav-item]"));
  }

  function select(index) {
    var all = items();
    if (!all.length) {
      return;
    }
    var next = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (item, i) {
      item.classList.toggle("is-selected", i === next);
      if (i === next) {
        item.setAttribute("aria-current", "true");
      } else {
        item.removeAttribute("aria-current");
      }
    });
    var link = all[next].querySelector("[data-nav-open]") || all[next];
    link.focus({ preventScroll: true });
    all[next].scrollIntoView({ block: "nearest" });
  }

  function selectedIndex() {
    var all = items();
    for (var i = 0; i < all.length; i += 1) {
      if (all[i].classList.contains("is-selected") || all[i].contains(document.activeElement)) {
        return i;
      }
    }
    return -1;
  }

  function openSelected() {
    var index = selectedIndex();
    if (index < 0) {
      return false;
    }
    var link = items()[index].querySelector("[data-nav-open]");
    if (link) {
      link.click();
      return true;
    }
    return false;
  }

  function click(selector) {
    var button = document.querySelector(selector);
    if (!button || button.disabled) {
      return false;
    }
    button.click();
    return true;
  }

  function editDraft() {
    var draft = document.querySelector("#decision-form textarea[name=body]");
    if (!draft) {
      return false;
    }
    draft.focus();
    draft.setSelectionRange(draft.value.length, draft.value.length);
    return true;
  }

  function search() {
    var field = document.querySelector("[data-shortcut=search]");
    if (field) {
      field.focus();
      field.select();
      return true;
    }
    var tickets = document.querySelector("[data-tickets-url]");
    if (tickets) {
      window.location.assign(tickets.dataset.ticketsUrl + "#search");
      return true;
    }
    return false;
  }

  function help() {
    var dialog = document.getElementById("shortcuts-help");
    if (!dialog || typeof dialog.showModal !== "function") {
      return false;
    }
    if (!dialog.open) {
      dialog.showModal();
    }
    return true;
  }

  var actions = {
    j: function () { select(selectedIndex() + 1); return items().length > 0; },
    k: function () { select(selectedIndex() - 1); return items().length > 0; },
    o: openSelected,
    Enter: openSelected,
    a: function () { return click("[data-shortcut=approve]"); },
    r: function () { return click("[data-shortcut=reject]"); },
    e: editDraft,
    "/": search,
    "?": help
  };

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    if (event.key === "Escape" && typing(event.target)) {
      event.target.blur();
      return;
    }
    if (typing(event.target)) {
      return;
    }
    var action = Object.prototype.hasOwnProperty.call(actions, event.key) ? actions[event.key] : null;
    // Enter on a focused link or button already does its own thing.
    if (event.key === "Enter" && event.target.closest && event.target.closest("a, button")) {
      return;
    }
    if (action && action()) {
      event.preventDefault();
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("#shortcuts-button")) {
      help();
    }
  });

  // Arriving from "/" on another page: the search field takes the cursor.
  if (window.location.hash === "#search") {
    var field = document.querySelector("[data-shortcut=search]");
    if (field) {
      field.focus();
    }
  }
})();

// "Insert saved reply": the server counts the use and fills {name}; the text goes into the
// draft. The agent's untouched draft is replaced, an edited one keeps its text and gains the
// saved reply at the end. Without this script the form posts and the page comes back filled.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("#macro-picker")) {
      return;
    }
    var draft = document.querySelector(form.dataset.macroTarget);
    if (!draft || !window.fetch) {
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
    var button = form.querySelector("button");
    button.disabled = true;
    window.fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (data) {
        return { ok: response.ok, data: data };
      });
    }).then(function (result) {
      if (!result.ok) {
        window.alert(result.data.error || "The saved reply could not be inserted.");
        return;
      }
      var untouched = draft.value.trim() === "" || draft.value === draft.defaultValue;
      draft.value = untouched ? result.data.body : draft.value.replace(/\s+$/, "") + "\n\n" + result.data.body;
      draft.dispatchEvent(new Event("input", { bubbles: true }));
      draft.focus();
    }).catch(function () {
      window.alert("The saved reply could not be inserted: check the connection and try again.");
    }).finally(function () {
      button.disabled = false;
    });
  }, true);
})();
