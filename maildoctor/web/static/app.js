// maildoctor harness UI. Mail content is only ever put in the page with
// textContent, and a mail's HTML only in <iframe sandbox> served under a CSP
// sandbox: nothing a mail contains can run. Helpers ($, el, api) are in common.js.
"use strict";

// WORDS (this page's words in both languages) comes from /words/harness.js, read from
// maildoctor/data/page_words.toml before this script runs.

let lang = currentLang();
let selectedId = null;
let current = null;
let offset = 0;          // the list's page: messages skipped (newest first)
let total = 0;
let harnessInfo = null;  // GET /api/harness: the SMTP address and the first-send command
let listed = { count: -1, q: "" };  // what the list last showed, for the empty state
const PAGE = 100;
const t = (key, vars) => translate(WORDS, lang, key, vars);

// The message pane, or (none chosen) its hint: choose one in the list, and for an
// empty list, the command that sends the harness a first message.
function showDetail(on) {
  $("detail").hidden = !on;
  $("detail-empty").hidden = on;
}

function renderEmptyState(count, q) {
  listed = { count, q };
  $("detail-hint").hidden = count === 0;
  const first = count === 0 && !q && harnessInfo && harnessInfo.send_command;
  $("first-send").hidden = !first;
  if (!first) return;
  $("first-command").textContent = harnessInfo.send_command;
  $("first-smtp").textContent = t("first_smtp", { smtp: harnessInfo.smtp });
}

function badge(outcome) {
  const b = el("span", t(outcome), "badge " + outcome);
  b.dataset.outcome = outcome;
  return b;
}

function badges(decisions) {
  const span = el("span", null, "badges");
  for (const d of decisions || []) {
    const b = badge(d.outcome);
    b.title = d.recipient + ": " + d.rule + (d.rule_name ? " (" + d.rule_name + ")" : "") + " — " + d.reply;
    span.append(b);
  }
  return span;
}

// The list's query as the address bar keeps it (a filtered list can be shared).
function listQuery() {
  const params = new URLSearchParams();
  const q = $("search").value.trim();
  if (q) params.set("q", q);
  if ($("show-trials").checked) params.set("trials", "1");
  if (offset) params.set("offset", String(offset));
  return params;
}

async function refreshList() {
  const params = listQuery();
  params.set("limit", String(PAGE));
  params.set("offset", String(offset));
  if (!params.has("trials")) params.set("trials", "0");
  let r;
  try {
    r = await fetch("/api/messages?" + params.toString());
  } catch (e) {
    // The server is gone for a moment (a restart): the live dot says so, the next refresh retries.
    $("live").classList.remove("on");
    return;
  }
  if (r.status === 401) {
    location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
    return;
  }
  let messages = null;
  try { messages = await r.json(); } catch (e) { messages = null; }
  const q = $("search").value.trim();
  if (!r.ok) {
    showError($("search-error"), t("search_failed"), (messages && messages.error) || "HTTP " + r.status, lang, t("details"));
    return;
  }
  $("search-error").hidden = true;
  total = Number(r.headers.get("X-Total-Count") || messages.length);
  // A search counts up to 10,000 matches ("10000+" beyond); a word too short for the
  // index searched only the newest messages, and the page says so.
  const shown = r.headers.get("X-Total-Exact") === "0" ? total + "+" : String(total);
  const newest = r.headers.get("X-Searched-Newest");
  $("search-note").hidden = !newest;
  $("search-note").textContent = newest ? t("searched_newest", { n: newest }) : "";
  if (offset && offset >= total) { offset = Math.max(0, Math.floor((total - 1) / PAGE) * PAGE); return refreshList(); }
  const list = $("message-list");
  const focused = document.activeElement && document.activeElement.classList.contains("msg-row")
    ? Number(document.activeElement.dataset.id) : null;
  list.replaceChildren();
  for (const m of messages) {
    const li = el("li", null, "msg-row");
    li.dataset.id = m.id;
    li.id = "msg-" + m.id;
    li.setAttribute("role", "option");
    li.setAttribute("aria-selected", String(m.id === selectedId));
    li.tabIndex = -1;
    if (m.id === selectedId) li.classList.add("selected");
    if (m.trial) li.classList.add("trial");
    const subject = el("span", m.subject || t("no_subject"), "subject");
    if (m.trial) subject.append(el("span", t("trial_tag"), "trial-tag"));
    li.append(
      subject,
      badges(m.decisions),
      el("span", formatTime(m.received_at, lang) + " · " + (m.from || m.mail_from) + " → " + m.rcpt_tos.join(", "), "meta"),
    );
    li.addEventListener("click", () => openMessage(m.id, true));
    list.append(li);
  }
  // One row is in the tab order (the selected one, else the first): a roving tabindex.
  const rows = [...list.children];
  const active = rows.find((x) => Number(x.dataset.id) === (focused || selectedId)) || rows[0];
  if (active) active.tabIndex = 0;
  if (focused && active && Number(active.dataset.id) === focused) active.focus();
  $("count").textContent = "(" + shown + ")";
  $("page-info").textContent = total
    ? t("page_info", { from: offset + 1, to: offset + messages.length, total: shown }) : "";
  $("page-prev").disabled = offset === 0;
  $("page-next").disabled = offset + messages.length >= total;
  $("empty").hidden = messages.length > 0;
  $("empty").textContent = q ? t("no_match") : t("empty");
  $("keys-help").hidden = messages.length === 0;
  renderEmptyState(messages.length, q);
}

// j/k and the arrows move between rows, Home/End to the ends, Enter or Space opens.
function listKeys(e) {
  const rows = [...$("message-list").children];
  const i = rows.indexOf(document.activeElement);
  if (i < 0) return;
  const to = { j: i + 1, ArrowDown: i + 1, k: i - 1, ArrowUp: i - 1, Home: 0, End: rows.length - 1 }[e.key];
  if (to !== undefined) {
    e.preventDefault();
    const next = rows[Math.max(0, Math.min(rows.length - 1, to))];
    rows[i].tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
    next.scrollIntoView({ block: "nearest" });
  } else if (e.key === "Enter" || e.key === " ") {
    e.preventDefault();
    openMessage(Number(rows[i].dataset.id), false);
  }
}

function updateAddress(path) {
  const params = listQuery();
  const search = params.toString();
  history.replaceState(null, "", path + (search ? "?" + search : ""));
}

function showPane(name, focus) {
  for (const b of document.querySelectorAll("#detail-tabs [role=tab]")) {
    const on = b.dataset.pane === name;
    b.classList.toggle("active", on);
    b.setAttribute("aria-selected", String(on));
    b.tabIndex = on ? 0 : -1;
    if (on && focus) b.focus();
  }
  for (const p of document.querySelectorAll(".pane")) p.hidden = p.id !== "pane-" + name;
}

// Arrow keys (and Home/End) move between the tabs of a tablist, as WAI-ARIA's tabs do.
function tabKeys(e, tabs, select) {
  const i = tabs.indexOf(document.activeElement);
  if (i < 0) return;
  const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
  if (to === undefined) return;
  e.preventDefault();
  select(tabs[(to + tabs.length) % tabs.length]);
}

// fromPointer: a tap or click (on a phone the message is below the list: bring it into view).
async function openMessage(id, fromPointer) {
  selectedId = id;
  for (const r of document.querySelectorAll(".msg-row")) {
    const on = Number(r.dataset.id) === id;
    r.classList.toggle("selected", on);
    r.setAttribute("aria-selected", String(on));
  }
  updateAddress("/messages/" + id);
  showDetail(true);
  if (window.matchMedia("(max-width: 800px)").matches) {
    $("detail").scrollIntoView({ block: "start" });
    if (fromPointer) $("detail").focus({ preventScroll: true });
  }
  let m;
  try {
    m = await api("/api/messages/" + id + "?lang=" + lang);
  } catch (e) {
    showError($("detail-error"), e.status === 404 ? t("not_found") : t("load_failed"), e.message, lang, t("details"));
    $("detail-body").hidden = true;
    return;
  }
  $("detail-error").hidden = true;
  $("detail-body").hidden = false;
  if (m.trial && !$("show-trials").checked) {
    // A desk's evidence link opens a trial: show the trials so that it is in the list.
    $("show-trials").checked = true;
    updateAddress("/messages/" + id);
    refreshList();
  }
  current = m;
  renderMessage(m);
}

function renderMessage(m) {
  const id = m.id;
  $("detail-subject").textContent = m.subject || t("no_subject");
  $("detail-link").href = "/messages/" + id;
  const meta = $("detail-meta");
  meta.replaceChildren();
  const rows = [["From", m.from], ["MAIL FROM", m.mail_from], ["RCPT TO", m.rcpt_tos.join(", ")],
    ["Message-ID", m.message_id], [t("received"), formatTime(m.received_at, lang)],
    [t("size"), m.size + " " + t("bytes")], [t("reply"), m.reply], ["Id", m.id]];
  for (const [k, v] of rows) meta.append(el("dt", k), el("dd", v));
  $("detail-text").textContent = m.text === null ? t("no_text") : m.text;
  $("html-frame").src = m.html ? "/api/messages/" + id + "/html" : "about:blank";
  $("html-frame").hidden = !m.html;
  $("no-html").hidden = m.html;
  const headers = $("detail-headers");
  headers.replaceChildren();
  for (const [k, v] of m.headers) {
    const tr = el("tr");
    tr.append(el("td", k), el("td", v));
    headers.append(tr);
  }
  $("detail-raw").textContent = m.raw_text;
  $("raw-link").href = "/api/messages/" + id + "/raw";
  showAuthentication(m.authentication);
  const dec = $("detail-decisions");
  dec.replaceChildren();
  const head = el("tr");
  for (const h of ["recipient", "outcome", "rule", "setting", "smtp_reply", "profile"]) head.append(el("th", t(h)));
  dec.append(head);
  for (const d of m.decisions) {
    const tr = el("tr", null, "decision");
    const oc = el("td");
    oc.append(badge(d.outcome));
    tr.append(el("td", d.recipient), oc, el("td", d.rule, "rule"), el("td", d.rule_name), el("td", d.reply), el("td", d.profile));
    dec.append(tr);
  }
  const lint = $("detail-lint");
  lint.replaceChildren();
  if (m.lint === null) lint.append(el("li", t("lint_unavailable")));
  else if (!m.lint.length) lint.append(el("li", t("no_findings")));
  else for (const f of m.lint) {
    const li = el("li", null, "sev-" + f.severity);
    li.append(el("strong", f.code + " "), el("span", f.message));
    if (f.fix) li.append(el("div", "→ " + f.fix));
    lint.append(li);
  }
  $("detail-transcript").textContent = m.transcript.join("\n");
}

// The harness's own DKIM/SPF/DMARC verdicts, shown above the decisions they fed.
function showAuthentication(auth) {
  let box = $("detail-auth");
  if (!box) {
    box = el("p", null, "auth");
    box.id = "detail-auth";
    $("detail-decisions").before(box);
  }
  box.replaceChildren();
  if (!auth) {
    box.append(el("span", t("not_verified")));
    return;
  }
  box.title = auth.header;
  const good = { pass: "delivered", none: "filtered", neutral: "filtered", temperror: "junk" };
  for (const method of ["dkim", "spf", "dmarc"]) {
    const r = auth[method];
    if (!r) continue;
    const b = el("span", method + "=" + r.result, "badge auth-" + method + " " + (good[r.result] || "rejected"));
    b.title = r.reason || "";
    box.append(b, " ");
  }
}

async function deleteOne() {
  if (selectedId === null || !confirm(t("confirm_one"))) return;
  await api("/api/messages/" + selectedId, { method: "DELETE" });
  selectedId = null;
  showDetail(false);
  updateAddress("/");
  refreshList();
}

async function loadGallery() {
  const gallery = $("gallery");
  gallery.replaceChildren();
  let templates;
  try {
    templates = await api("/api/templates");
  } catch (e) {
    gallery.append(el("p", t("templates_failed") + e.message));
    return;
  }
  for (const tp of templates) {
    for (const v of tp.variants) {
      const card = el("div", null, "card");
      const q = "?variant=" + encodeURIComponent(v.name);
      card.append(el("h3", tp.name + (tp.variants.length > 1 ? " / " + v.name : "")));
      const subj = el("p", "", "template-subject");
      card.append(subj);
      const frame = document.createElement("iframe");
      frame.setAttribute("sandbox", "");
      frame.title = tp.name;
      frame.src = "/api/templates/" + encodeURIComponent(tp.name) + "/html" + q;
      card.append(frame);
      const text = el("pre", "");
      const lint = el("ul");
      card.append(el("h4", "text/plain"), text, el("h4", t("pane_lint")), lint);
      gallery.append(card);
      api("/api/templates/" + encodeURIComponent(tp.name) + q + "&lang=" + lang).then((r) => {
        subj.textContent = r.subject;
        text.textContent = r.text;
        for (const f of r.lint || []) lint.append(el("li", f.code + ": " + f.message, "sev-" + f.severity));
        if (r.lint && !r.lint.length) lint.append(el("li", t("no_findings")));
      }).catch((e) => { subj.textContent = e.message; });
    }
  }
}

function showView(name, focus) {
  $("messages-view").hidden = name !== "messages";
  $("templates-view").hidden = name !== "templates";
  for (const v of ["messages", "templates"]) {
    const tab = $("tab-" + v);
    tab.classList.toggle("active", name === v);
    tab.setAttribute("aria-selected", String(name === v));
    tab.tabIndex = name === v ? 0 : -1;
    if (name === v && focus) tab.focus();
  }
  if (name === "templates") loadGallery();
}

function connectEvents() {
  const source = new EventSource("/api/events");
  source.onopen = () => $("live").classList.add("on");
  source.onmessage = () => refreshList();
  source.onerror = () => $("live").classList.remove("on");
}

document.addEventListener("DOMContentLoaded", () => {
  applyI18n(WORDS, lang);
  $("message-list").setAttribute("aria-label", t("tab_messages"));
  const paneTabs = [...document.querySelectorAll("#detail-tabs [role=tab]")];
  for (const b of paneTabs) b.addEventListener("click", () => showPane(b.dataset.pane));
  $("detail-tabs").addEventListener("keydown", (e) => tabKeys(e, paneTabs, (b) => showPane(b.dataset.pane, true)));
  const viewTabs = [$("tab-messages"), $("tab-templates")];
  $("tab-messages").addEventListener("click", () => showView("messages"));
  $("tab-templates").addEventListener("click", () => showView("templates"));
  $("views").addEventListener("keydown", (e) => tabKeys(e, viewTabs, (b) => showView(b.id.replace("tab-", ""), true)));
  $("message-list").addEventListener("keydown", listKeys);
  $("show-trials").addEventListener("change", () => { offset = 0; updateAddress(location.pathname); refreshList(); });
  $("page-prev").addEventListener("click", () => { offset = Math.max(0, offset - PAGE); updateAddress(location.pathname); refreshList(); });
  $("page-next").addEventListener("click", () => { offset += PAGE; updateAddress(location.pathname); refreshList(); });
  $("back-to-list").addEventListener("click", () => {
    const row = document.querySelector(".msg-row.selected") || $("message-list").firstElementChild;
    $("list").scrollIntoView({ block: "start" });
    if (row) { row.tabIndex = 0; row.focus(); }
  });
  $("lang-switch").addEventListener("click", () => {
    lang = lang === "ja" ? "en" : "ja";
    saveLang(lang);
    applyI18n(WORDS, lang);
    $("message-list").setAttribute("aria-label", t("tab_messages"));
    refreshList();
    if (current && !$("detail").hidden) {
      // The lint findings' words come from the server, in the page's language.
      api("/api/messages/" + current.id + "?lang=" + lang)
        .then((m) => { current = m; }, () => {})
        .then(() => renderMessage(current));
    }
    if (!$("templates-view").hidden) loadGallery();
  });
  let timer = null;
  const search = () => {
    // The search is in the address bar too, so that a filtered list can be shared.
    offset = 0;
    updateAddress(location.pathname);
    refreshList();
  };
  $("search").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 200); });
  $("search-form").addEventListener("submit", (e) => { e.preventDefault(); search(); });
  $("delete-one").addEventListener("click", deleteOne);
  $("delete-all").addEventListener("click", async () => {
    if (!confirm(t("confirm_all"))) return;
    await api("/api/messages", { method: "DELETE" });
    selectedId = null;
    offset = 0;
    showDetail(false);
    updateAddress("/");
    refreshList();
  });
  const params = new URLSearchParams(location.search);
  if (params.get("q")) $("search").value = params.get("q");
  $("show-trials").checked = params.get("trials") === "1";
  offset = Math.max(0, Number(params.get("offset")) || 0);
  const m = location.pathname.match(/^\/messages\/(\d+)$/);
  api("/api/harness").then((info) => { harnessInfo = info; renderEmptyState(listed.count, listed.q); }, () => {});
  refreshList();
  if (m) openMessage(Number(m[1]), false);
  connectEvents();
  // Events are the fast path; a slow poll covers a dropped event stream.
  setInterval(refreshList, 10000);
});
