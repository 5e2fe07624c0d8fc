/* maildoctor sign-up check: catches typos and full-width input in a registration
 * form's email field, and tells carrier-mail customers how to let our mail in.
 *
 *   <script src="https://CHECK-HOST/static/signup-check.js" data-input="#email" defer></script>
 *
 * data-input     CSS selector of the email field(s) (default: input[type=email])
 * data-lang      ja | en (default: the page's lang)
 * data-endpoint  the check API (default: /api/check beside this script)
 * data-style     "none" leaves all styling to the page (classes: signup-check,
 *                signup-check-message, signup-check-fix, signup-check-note)
 *
 * It never blocks or delays submit, and when the API cannot be reached it does nothing.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.fetch || !window.URL) return;
  var cfg = script.dataset;
  var endpoint = cfg.endpoint || new URL("/api/check", script.src).href;
  var styled = cfg.style !== "none";
  var TEXT = {
    ja: { fixed: "{a} に修正しました。", fix: "{a} に修正する", steps: "{c}の設定手順" },
    en: { fixed: "Changed to {a}.", fix: "Change to {a}", steps: "Steps for {c}" }
  };
  var count = 0;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text) node.textContent = text;
    return node;
  }
  function css(node, rules) {
    // CSSOM, not a style attribute or <style>: allowed under a strict CSP.
    if (styled) for (var k in rules) node.style[k] = rules[k];
    return node;
  }
  function fill(template, values) {
    return template.replace(/\{(\w)\}/g, function (_, k) { return values[k]; });
  }

  function attach(input) {
    var lang = cfg.lang || ((document.documentElement.lang || "ja").slice(0, 2) === "en" ? "en" : "ja");
    var words = TEXT[lang] || TEXT.ja;
    var box = css(el("div", "signup-check"), { margin: "0.4em 0", fontSize: "0.92em", lineHeight: "1.6" });
    box.id = "signup-check-" + ++count;
    box.setAttribute("role", "status");
    box.setAttribute("aria-live", "polite");
    input.insertAdjacentElement("afterend", box);
    var described = input.getAttribute("aria-describedby");
    input.setAttribute("aria-describedby", (described ? described + " " : "") + box.id);
    var last = null, seq = 0, fixedTo = null;

    function clear() {
      seq++;
      box.textContent = "";
      input.removeAttribute("aria-invalid");
    }

    function check() {
      var value = input.value;
      if (value === last) return;
      last = value;
      if (!value.trim()) { clear(); return; }
      var mine = ++seq;
      var ctrl = window.AbortController ? new AbortController() : null;
      var timer = setTimeout(function () { if (ctrl) ctrl.abort(); }, 4000);
      fetch(endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ address: value, lang: lang }),
        credentials: "omit",
        signal: ctrl ? ctrl.signal : undefined
      })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (mine !== seq || input.value !== value) return;
          if (!data) last = null; // refused or rate-limited: a later blur may ask again
          show(data);
        })
        .catch(function () {
          // The API is down or slow: the form works as without us; a later blur retries.
          if (mine === seq) last = null;
        })
        .then(function () { clearTimeout(timer); });
    }

    function show(data) {
      box.textContent = "";
      if (!data || typeof data !== "object") return;
      if (data.block) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
      if (fixedTo && fixedTo === input.value) {
        box.appendChild(css(el("p", "signup-check-fixed", fill(words.fixed, { a: fixedTo })), { margin: "0" }));
      }
      var message = typeof data.message === "string" ? data.message : "";
      var suggestion = typeof data.suggestion === "string" ? data.suggestion : "";
      if (message) {
        var line = css(el("p", "signup-check-message"), {
          margin: "0", color: data.block || suggestion ? "#a61b1b" : "#6b4500"
        });
        var at = suggestion ? message.indexOf(suggestion) : -1;
        if (at >= 0) {
          line.appendChild(document.createTextNode(message.slice(0, at)));
          line.appendChild(fixButton(suggestion));
          line.appendChild(document.createTextNode(message.slice(at + suggestion.length)));
        } else {
          line.textContent = message; // no "did you mean" in it: the API does not offer the fix
        }
        box.appendChild(line);
      }
      var note = data.carrier_note;
      if (note && !suggestion) box.appendChild(carrierNote(note));
    }

    function fixButton(suggestion) {
      var button = css(el("button", "signup-check-fix", suggestion), {
        font: "inherit", fontWeight: "bold", color: "#0645ad", background: "none", border: "0",
        padding: "0", textDecoration: "underline", cursor: "pointer"
      });
      button.type = "button";
      button.setAttribute("aria-label", fill(words.fix, { a: suggestion }));
      button.addEventListener("click", function () {
        input.value = suggestion;
        ["input", "change"].forEach(function (type) {
          input.dispatchEvent(new Event(type, { bubbles: true }));
        });
        fixedTo = suggestion; // after the events: our own input listener forgets it
        input.focus();
        check();
      });
      return button;
    }

    function carrierNote(note) {
      var wrap = css(el("div", "signup-check-note"), {
        marginTop: "0.4em", padding: "0.5em 0.75em", background: "#fff8e1",
        borderLeft: "3px solid #e0a800", color: "#3d3000"
      });
      wrap.appendChild(css(el("p", null, note.title || ""), { margin: "0", fontWeight: "bold" }));
      (note.text || []).forEach(function (text) {
        wrap.appendChild(css(el("p", null, text), { margin: "0.25em 0 0" }));
      });
      if (note.steps && note.steps.length) {
        var details = css(el("details"), { marginTop: "0.25em" });
        details.appendChild(el("summary", null, fill(words.steps, { c: note.name || "" })));
        var list = css(el("ul"), { margin: "0.25em 0 0", paddingLeft: "1.2em" });
        note.steps.forEach(function (step) { list.appendChild(el("li", null, step)); });
        details.appendChild(list);
        wrap.appendChild(details);
      }
      return wrap;
    }

    input.addEventListener("blur", check);
    input.addEventListener("change", check); // autofill changes the value without a blur
    input.addEventListener("input", function () {
      if (input.value !== last) { fixedTo = null; last = null; clear(); }
    });
  }

  function start() {
    var inputs = document.querySelectorAll(cfg.input || "input[type=email]");
    for (var i = 0; i < inputs.length; i++) attach(inputs[i]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
