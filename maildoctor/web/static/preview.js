// The live template preview. Everything shown comes from /api/preview/{name} (the JSON
// twin); the mail's HTML only ever goes in the sandboxed iframe, served under a CSP
// sandbox, and every other text from a template with textContent. The page listens to
// /api/preview/events and reloads what it shows when a file of the templates folder
// changes; a broken template shows its error until the next save fixes it.
"use strict";

// WORDS (this page's words in both languages) comes from /words/preview.js, read from
// maildoctor/data/page_words.toml before this script runs.

let lang = currentLang();
const t = (key, vars) => translate(WORDS, lang, key, vars);
const params = new URLSearchParams(location.search);
const state = {
  template: params.get("template"), variant: params.get("variant"),
  view: params.get("view") || "html", width: Number(params.get("width")) || 390,
  version: 0, data: null,
};

function saveState() {
  const q = new URLSearchParams();
  if (state.template) q.set("template", state.template);
  if (state.variant) q.set("variant", state.variant);
  q.set("view", state.view);
  q.set("width", String(state.width));
  history.replaceState(null, "", "/preview?" + q.toString());
}

async function loadList() {
  const list = $("template-list");
  let data;
  try {
    data = await api("/api/preview");
  } catch (e) {
    list.replaceChildren(el("li", t("templates_failed") + e.message, "error"));
    return;
  }
  $("folder").textContent = data.templates_dir;
  list.replaceChildren();
  if (data.error) list.append(el("li", data.error, "error"));
  if (!data.templates.length && !data.error) list.append(el("li", t("no_templates")));
  for (const tp of data.templates) {
    for (const v of tp.variants) {
      const b = el("button");
      b.type = "button";
      // The name breaks after an underscore on a phone ("provisional_ / registration"),
      // never inside a word: each part is kept whole.
      const name = el("span", null, "name");
      const label = tp.name + (tp.variants.length > 1 ? " / " + v.name : "");
      for (const part of label.split(/(?<=_)/)) name.append(el("span", part, "part"));
      b.append(name);
      b.append(el("small", tp.subject));
      b.dataset.template = tp.name;
      b.dataset.variant = v.name;
      b.addEventListener("click", () => { state.template = tp.name; state.variant = v.name; show(); });
      const li = el("li");
      li.append(b);
      list.append(li);
      if (!state.template) state.template = tp.name;
      if (state.template === tp.name && !state.variant) state.variant = v.name;
    }
  }
}

function markCurrent() {
  for (const b of document.querySelectorAll("#template-list button")) {
    const cur = b.dataset.template === state.template && b.dataset.variant === state.variant;
    b.setAttribute("aria-current", cur ? "true" : "false");
  }
  for (const b of document.querySelectorAll("#views button")) {
    b.setAttribute("aria-selected", b.dataset.view === state.view ? "true" : "false");
  }
  for (const b of document.querySelectorAll("#widths button")) {
    b.setAttribute("aria-pressed", Number(b.dataset.width) === state.width ? "true" : "false");
  }
  $("widths").hidden = !["html", "dark", "inverted"].includes(state.view);
}

function showError(err) {
  $("error").hidden = false;
  $("error-where").textContent = err.file ? err.file + (err.line ? ":" + err.line : "") : "";
  $("error-message").textContent = err.message;
  const pre = $("error-excerpt");
  pre.replaceChildren();
  for (const row of err.excerpt || []) {
    pre.append(el("span", String(row.line).padStart(4) + "  " + row.text, row.line === err.line ? "row bad" : "row"));
  }
  pre.hidden = !(err.excerpt && err.excerpt.length);
}

function renderISO(d) {
  const iso = d.iso2022jp;
  $("iso-summary").textContent = iso.garbled.length ? t("iso_bad", { chars: iso.garbled.join(" ") }) : t("iso_ok");
  for (const [id, segments] of [["iso-subject", iso.subject], ["iso-text", iso.text]]) {
    const pre = $(id);
    pre.replaceChildren();
    for (const s of segments) {
      if (s.ok) { pre.append(document.createTextNode(s.text)); continue; }
      const mark = el("span", s.text, "garbled");
      mark.title = s.char + " " + s.code;
      mark.dataset.char = s.char;
      pre.append(mark);
    }
  }
  $("iso-raw").textContent = iso.raw || iso.error || "";
}

function renderChecks(d) {
  const lint = $("lint");
  lint.replaceChildren();
  for (const f of d.lint) lint.append(el("li", t("sev_" + f.severity) + ": " + f.code + ": " + f.message, "sev-" + f.severity));
  if (!d.lint.length) lint.append(el("li", t("no_findings")));
  const disp = d.carrier_display || { ran: false, why: "" };
  const rows = $("display");
  rows.replaceChildren();
  if (!disp.ran) {
    $("display-summary").textContent = t("display_off", { why: disp.why });
  } else {
    $("display-summary").textContent = disp.dns_untrusted
      ? t("display_untrusted", { why: disp.dns_untrusted }) : t("display_domain", { domain: disp.domain });
    for (const r of disp.rows) {
      const li = el("li", null, "treatment-" + r.treatment);
      li.dataset.receiver = r.receiver;
      li.append(el("strong", r.name), document.createTextNode(": " + r.text + " "), el("small", "[" + r.source + "]"));
      rows.append(li);
    }
  }
  const c = d.clients;
  // The score and which data it comes from (worded by the server in the page's
  // language), each kept whole: a narrow page wraps between them, never inside a date.
  $("clients-summary").replaceChildren(
    el("span", t("clients_score", { score: c.score }), "score"), " ", el("span", c.data_version, "data-version"));
  const body = document.querySelector("#clients tbody");
  body.replaceChildren();
  for (const f of c.families) {
    const tr = el("tr");
    tr.append(el("td", f.name), el("td", String(f.score)), el("td", f.unsupported.join(", ")), el("td", f.partial.join(", ")));
    body.append(tr);
  }
  const notes = $("carrier-notes");
  notes.replaceChildren();
  for (const a of c.carriers) {
    const li = el("li");
    li.append(el("strong", lang === "ja" ? a.name_ja : a.name_en), document.createTextNode(": " + (lang === "ja" ? a.note_ja : a.note_en)));
    li.append(el("small", " [" + a.sources.join("; ") + "]"));
    notes.append(li);
  }
}

function frameURL() {
  const q = new URLSearchParams({ variant: state.variant || "", v: String(state.version) });
  if (state.view === "dark") q.set("mode", "dark");
  return "/api/preview/" + encodeURIComponent(state.template) + "/html?" + q.toString();
}

async function show() {
  markCurrent();
  saveState();
  if (!state.template) return;
  const url = "/api/preview/" + encodeURIComponent(state.template) + "?variant=" + encodeURIComponent(state.variant || "") + "&lang=" + lang;
  $("json-link").href = url;
  let d;
  try {
    d = await api(url);
  } catch (e) {
    showError({ message: e.message, excerpt: [] });
    return;
  }
  state.data = d;
  document.body.dataset.version = String(d.version);
  for (const id of ["pane-frame", "pane-text", "pane-raw", "pane-iso", "pane-checks"]) $(id).hidden = true;
  if (!d.ok) {
    $("subject").textContent = "";
    showError(d.error);
    return;
  }
  $("error").hidden = true;
  $("subject").textContent = d.subject;
  if (["html", "dark", "inverted"].includes(state.view)) {
    const frame = $("mail-frame");
    frame.style.width = state.width + "px";
    frame.classList.toggle("inverted", state.view === "inverted");
    $("frame-box").classList.toggle("dark", state.view !== "html");
    const src = frameURL();
    if (frame.getAttribute("src") !== src) frame.src = src;
    $("frame-note").textContent = state.view === "dark" ? t("dark_note") : state.view === "inverted" ? t("inverted_note") : "";
    $("pane-frame").hidden = false;
  } else if (state.view === "text") {
    $("text").textContent = d.text;
    $("pane-text").hidden = false;
  } else if (state.view === "raw") {
    $("raw").textContent = d.raw;
    $("pane-raw").hidden = false;
  } else if (state.view === "iso") {
    renderISO(d);
    $("pane-iso").hidden = false;
  } else {
    renderChecks(d);
    $("pane-checks").hidden = false;
  }
}

function connect() {
  const source = new EventSource("/api/preview/events");
  source.addEventListener("hello", () => { $("live").classList.add("on"); $("live").textContent = t("live_on"); });
  source.addEventListener("change", async (ev) => {
    state.version = JSON.parse(ev.data).version;
    await loadList();
    markCurrent();
    await show();
  });
  source.onerror = () => { $("live").classList.remove("on"); $("live").textContent = t("live_off"); };
}

document.addEventListener("DOMContentLoaded", async () => {
  applyI18n(WORDS, lang);
  $("lang-switch").addEventListener("click", () => {
    lang = lang === "ja" ? "en" : "ja";
    saveLang(lang);
    applyI18n(WORDS, lang);
    $("live").textContent = t($("live").classList.contains("on") ? "live_on" : "live_off");
    show();
  });
  for (const b of document.querySelectorAll("#views button")) b.addEventListener("click", () => { state.view = b.dataset.view; show(); });
  for (const b of document.querySelectorAll("#widths button")) b.addEventListener("click", () => { state.width = Number(b.dataset.width); show(); });
  await loadList();
  await show();
  connect();
});
