// Forms people can use (issue 16): searchable long and multiple selects, and character counters instead of the
// browser's silent truncation. Progressive: without this file every <select> and field works as plain HTML, and the
// server checks every limit (a text over it is refused with a message, never cut).
//
// The translated strings and the vendored library's addresses come from the data-forms attribute of this <script>
// element (macros.html, forms_config), since the Content-Security-Policy allows no inline script. Without it the
// English strings below are used and the library is looked for next to this file.
(function () {
  "use strict";

  var script = document.currentScript;
  var DEFAULTS = {
    noResults: "No results found",
    remove: "Remove",
    search: "Type to search",
    counter: "{count} / {limit}",
    overOne: "{count} character over the limit of {limit}",
    overOther: "{count} characters over the limit of {limit}",
    tomSelectJs: null,
    tomSelectCss: null
  };
  // A select with more options than this is searchable; every select[multiple] is (Ctrl-click is not a way to choose).
  var LONG_LIST = 15;
  // Single-line fields show their counter once this share of the limit is used (a name field need not count from 0);
  // text areas always show it.
  var SHOW_FROM = 0.5;
  // The screen-reader announcement waits for a pause in typing, and is made only near or over the limit.
  var ANNOUNCE_FROM = 0.75;
  var ANNOUNCE_AFTER_MS = 1000;

  var text = readConfig();
  var lang = document.documentElement.lang || "en";
  var numberFormat = safe(function () { return new Intl.NumberFormat(lang); });
  var pluralRules = safe(function () { return new Intl.PluralRules(lang); });

  function safe(make) {
    try { return make(); } catch (e) { return null; }
  }

  function readConfig() {
    var config = {};
    var raw = script && script.getAttribute("data-forms");
    if (raw) {
      config = safe(function () { return JSON.parse(raw); }) || {};
    }
    var merged = {};
    Object.keys(DEFAULTS).forEach(function (key) {
      merged[key] = config[key] || DEFAULTS[key];
    });
    if (!merged.tomSelectJs && script) {
      var base = script.src.replace(/[^/]*$/, "vendor/tom-select/");
      merged.tomSelectJs = base + "tom-select.popular.min.js";
      merged.tomSelectCss = base + "tom-select.bootstrap5.min.css";
    }
    return merged;
  }

  function number(n) {
    return numberFormat ? numberFormat.format(n) : String(n);
  }

  function fill(template, count, limit) {
    return template.replace("{count}", number(count)).replace("{limit}", number(limit));
  }

  // ---- Character counters -------------------------------------------------------------------------------------

  var COUNTED_TYPES = ["text", "search", "email", "tel", "url"];

  // What the server counts: Python's len() counts code points (an emoji is one, not two UTF-16 units), and a browser
  // sends each line break of a text area as CR LF (two characters), which the server's Length check sees.
  function serverLength(value) {
    return Array.from(value.replace(/\r?\n/g, "\r\n")).length;
  }

  function setUpCounter(field) {
    var limit = parseInt(field.getAttribute("maxlength"), 10);
    if (!(limit > 0)) {
      return;
    }
    // The browser would cut pasted text at the limit without a word; the counter says how much is over instead, and
    // the server refuses it with the field's message, the text kept for the person to shorten.
    field.removeAttribute("maxlength");
    field.setAttribute("data-maxlength", String(limit));
    var id = (field.id || field.name || "field") + "-counter";
    var counter = document.createElement("div");
    counter.className = "form-text char-counter";
    counter.id = id;
    var status = document.createElement("div");
    status.className = "visually-hidden";
    status.setAttribute("aria-live", "polite");
    status.id = id + "-status";
    var anchor = field.closest(".input-group") || field;
    anchor.insertAdjacentElement("afterend", counter);
    counter.insertAdjacentElement("afterend", status);
    var described = (field.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    described.push(id);
    field.setAttribute("aria-describedby", described.join(" "));

    var always = field.tagName === "TEXTAREA";
    var timer = null;
    var announced = "";

    function update() {
      var length = serverLength(field.value);
      var over = length - limit;
      var message;
      if (over > 0) {
        var one = pluralRules ? pluralRules.select(over) === "one" : over === 1;
        message = fill(one ? text.overOne : text.overOther, over, limit);
      } else {
        message = fill(text.counter, length, limit);
      }
      counter.textContent = message;
      counter.classList.toggle("over-limit", over > 0);
      counter.classList.toggle("d-none", !always && over <= 0 && length < limit * SHOW_FROM);
      field.classList.toggle("over-limit", over > 0);
      if (over > 0) {
        field.setAttribute("aria-invalid", "true");
      } else if (!field.classList.contains("is-invalid")) {
        field.removeAttribute("aria-invalid");
      }
      return {message: message, near: length >= limit * ANNOUNCE_FROM};
    }

    function announce() {
      var state = update();
      if (state.near && state.message !== announced) {
        status.textContent = state.message;
        announced = state.message;
      }
    }

    field.addEventListener("input", function () {
      update();
      window.clearTimeout(timer);
      timer = window.setTimeout(announce, ANNOUNCE_AFTER_MS);
    });
    update();
  }

  function setUpCounters(root) {
    root.querySelectorAll("textarea[maxlength], input[maxlength]").forEach(function (field) {
      if (field.tagName === "INPUT" && COUNTED_TYPES.indexOf((field.getAttribute("type") || "text").toLowerCase()) < 0) {
        return;
      }
      setUpCounter(field);
    });
  }

  // ---- Searchable selects ----------------------------------------------------------------------------------------

  function wantsSearch(select) {
    var flag = select.getAttribute("data-searchable");
    if (flag === "false") {
      return false;
    }
    return flag !== null || select.multiple || select.options.length > LONG_LIST;
  }

  function escapeHtml(value) {
    var div = document.createElement("div");
    div.textContent = value;
    return div.innerHTML;
  }

  // The chosen item's "×": named "Remove" for screen readers (the plugin's own button is named by its "×").
  // Not in the Tab order: Backspace removes the last chosen item from the keyboard.
  function removeButton(options) {
    var button = document.createElement("span");
    button.className = options.className;
    button.title = options.title;
    button.setAttribute("role", "button");
    button.setAttribute("aria-label", options.title);
    button.tabIndex = -1;
    button.textContent = options.label;
    return button;
  }

  function enhance(select) {
    var multiple = select.multiple;
    var hasBlank = Array.prototype.some.call(select.options, function (o) { return o.value === ""; });
    var settings = {
      create: false,
      // After a language is chosen from a search, the search box empties for the next one.
      clearAfterSelect: true,
      maxOptions: null, // all 263 countries can be browsed with the arrow keys, not only the first 50
      // The list is filtered at each key, not 300 ms after the last one (the library's default, meant for options
      // fetched from a server; these are all in the page). Delayed, Enter pressed right after typing "Peru" chose
      // whatever was highlighted before, and the late search re-opened the list and took the focus back from the
      // field the person had tabbed on to (tests/browser/test_keyboard.py).
      refreshThrottle: 0,
      allowEmptyOption: hasBlank,
      placeholder: text.search,
      hidePlaceholder: !multiple,
      plugins: multiple ? {remove_button: {title: text.remove, html: removeButton}} : {},
      render: {
        no_results: function () {
          return "<div class=\"no-results\">" + escapeHtml(text.noResults) + "</div>";
        }
      },
      onInitialize: function () {
        // The field's error message (and any help) still describes it: Tom Select names the control from the
        // <label for> by itself, but does not carry aria-describedby or the invalid state over.
        var input = this.control_input;
        ["aria-describedby", "aria-invalid", "aria-required"].forEach(function (name) {
          var value = select.getAttribute(name);
          if (value) {
            input.setAttribute(name, value);
          }
        });
        if (select.classList.contains("is-invalid")) {
          input.setAttribute("aria-invalid", "true");
        }
        if (!document.querySelector("label[for='" + input.id + "']") && select.getAttribute("aria-label")) {
          input.setAttribute("aria-label", select.getAttribute("aria-label"));
        }
        // The plain select is now only the value sent with the form (visually hidden, out of the Tab order): its label
        // names the combobox instead, so screen readers must not meet it as a second, unnamed control.
        select.setAttribute("aria-hidden", "true");
      }
    };
    // eslint-disable-next-line no-new
    new window.TomSelect(select, settings);
  }

  function loadOnce(tag, attributes) {
    return new Promise(function (resolve, reject) {
      var element = document.createElement(tag);
      Object.keys(attributes).forEach(function (name) { element.setAttribute(name, attributes[name]); });
      element.addEventListener("load", resolve);
      element.addEventListener("error", reject);
      document.head.appendChild(element);
    });
  }

  function setUpSelects(root) {
    var selects = Array.prototype.filter.call(root.querySelectorAll("select"), function (select) {
      return !select.tomselect && wantsSearch(select);
    });
    if (!selects.length) {
      return;
    }
    // Loaded only on pages that have such a select (about 15 KB compressed for the script, 3 KB for its styles).
    var ready = window.TomSelect ? Promise.resolve() : Promise.all([
      loadOnce("link", {rel: "stylesheet", href: text.tomSelectCss}),
      loadOnce("script", {src: text.tomSelectJs})
    ]);
    ready.then(function () {
      selects.forEach(enhance);
      document.documentElement.classList.add("selects-enhanced");
    }, function () {
      // The plain selects stay: the form still works.
    });
  }

  function start() {
    setUpCounters(document);
    setUpSelects(document);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
