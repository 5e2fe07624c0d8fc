// Shared by the harness page and the desk: DOM helpers, the JSON API with its CSRF
// header, and the language switch (Japanese first, English one click away).
// Text from the server or from a mail only ever goes in with textContent.
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

// The CSRF token the login gave this browser (only with --allow-remote; none on loopback).
function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)maildoctor_csrf=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

// fetch + JSON; a non-2xx answer throws an Error carrying the server's {"error": ...}.
async function api(url, options) {
  const opts = Object.assign({}, options || {});
  opts.headers = Object.assign({}, opts.headers || {});
  const method = (opts.method || "GET").toUpperCase();
  if (method !== "GET" && method !== "HEAD") opts.headers["X-CSRF-Token"] = csrfToken();
  const r = await fetch(url, opts);
  if (r.status === 401) {
    location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
    throw new Error("login required");
  }
  let data = null;
  try { data = await r.json(); } catch (e) { data = null; }
  if (!r.ok) {
    const err = new Error((data && data.error) || (url + ": HTTP " + r.status));
    err.status = r.status;
    throw err;
  }
  return data;
}

function postJSON(url, body) {
  return api(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

const LANG_KEY = "maildoctor.lang";

function currentLang() {
  const q = new URLSearchParams(location.search).get("lang");
  if (q === "ja" || q === "en") return q;
  try { return localStorage.getItem(LANG_KEY) === "en" ? "en" : "ja"; } catch (e) { return "ja"; }
}

function saveLang(lang) {
  try { localStorage.setItem(LANG_KEY, lang); } catch (e) { /* private mode: this page only */ }
}

// The word `key` of `dict[lang]` (the key itself when missing), with {name} filled from `vars`.
function translate(dict, lang, key, vars) {
  let s = dict[lang][key] || key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replace("{" + k + "}", v);
  return s;
}

// Put the words of `dict[lang]` into every [data-i18n] / [data-i18n-placeholder] element.
function applyI18n(dict, lang) {
  const words = dict[lang];
  document.documentElement.lang = lang;
  for (const e of document.querySelectorAll("[data-i18n]")) {
    const w = words[e.dataset.i18n];
    if (w !== undefined) e.textContent = w;
  }
  for (const e of document.querySelectorAll("[data-i18n-placeholder]")) {
    const w = words[e.dataset.i18nPlaceholder];
    if (w !== undefined) e.placeholder = w;
  }
  const sw = $("lang-switch");
  if (sw) {
    sw.textContent = lang === "ja" ? "English" : "日本語";
    sw.lang = lang === "ja" ? "en" : "ja";
  }
  if (words.doc_title) document.title = words.doc_title;
}

// A time (Unix seconds, or ISO 8601 with its offset as the JSON twins give it) in the
// reader's own time zone, named ("2026/12/07 18:42:49 JST"), in the page's language.
function formatTime(when, lang) {
  const d = typeof when === "number" ? new Date(when * 1000) : new Date(when);
  if (Number.isNaN(d.getTime())) return String(when);
  return new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "long", hourCycle: "h23" }).format(d);
}

// The reader's time zone (IANA name), which /api/diagnose words its sentences' times in.
function readerZone() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || undefined; } catch (e) { return undefined; }
}

// Copy text; the async Clipboard API needs a secure context, so fall back to a selection.
async function copyText(text, textarea) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (e) {
    if (!textarea) return false;
    textarea.focus();
    textarea.select();
    try { return document.execCommand("copy"); } catch (e2) { return false; }
  }
}

// An error in the page's language only: `text` is the page's own sentence; the
// server's (English) `detail` is shown as is on an English page, and folded under
// `more` on a Japanese one.
function showError(box, text, detail, lang, more) {
  box.replaceChildren();
  box.hidden = !text && !detail;
  if (box.hidden) return;
  if (lang === "en" && detail) { box.append(el("span", detail)); return; }
  box.append(el("span", text));
  if (!detail) return;
  const fold = el("details", null, "error-detail");
  fold.append(el("summary", more), el("span", detail, "small"));
  fold.lang = "en";
  box.append(fold);
}
