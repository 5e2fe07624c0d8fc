// maildoctor support desk: diagnose one address, a batch, the history.
// Every answer comes from the JSON twins (/api/diagnose, /api/addresses, /api/diagnoses).
"use strict";

// WORDS (this page's words in both languages) comes from /words/desk.js, read from
// maildoctor/data/page_words.toml before this script runs.

const AGENT_KEY = "maildoctor.agent";
let lang = currentLang();
let tickets = [];
let shown = null;        // the diagnosis on screen, re-rendered when the language changes
let shownStoredAt = null;
let shownStoredId = null; // the history id of a stored diagnosis on screen (a permalink)
let renders = 0;         // counted on #result (data-renders) so a test can wait for the next one

const t = (key, vars) => translate(WORDS, lang, key, vars);

function fillTickets() {
  for (const id of ["ticket", "batch-ticket"]) {
    const sel = $(id);
    const keep = sel.value;
    sel.replaceChildren();
    for (const tk of tickets) {
      const o = el("option", tk.label[lang]);
      o.value = tk.id;
      o.title = tk.says[lang];
      sel.append(o);
    }
    if (keep) sel.value = keep;
  }
}

function showView(name, push, focus) {
  for (const v of ["single", "batch", "history"]) {
    $("view-" + v).hidden = v !== name;
    $("tab-" + v).classList.toggle("active", v === name);
    $("tab-" + v).setAttribute("aria-selected", String(v === name));
    $("tab-" + v).tabIndex = v === name ? 0 : -1;
    if (v === name && focus) $("tab-" + v).focus();
  }
  if (name === "history") { fillFilters(); loadHistory(); }
  if (push) history.replaceState(null, "", name === "single" ? "/desk" : "/desk#" + name);
}

// -- one diagnosis -----------------------------------------------------------

// Each cell's column name, for the one-card-per-row layout on a phone.
function labelCells(table) {
  const names = [...table.querySelectorAll("thead th")].map((th) => th.textContent);
  for (const tr of table.querySelectorAll("tbody tr")) {
    [...tr.children].forEach((td, i) => { if (names[i] && names[i] !== "#") td.dataset.label = names[i]; });
  }
}

function verdictBadge(verdict, label) {
  const b = el("span", label || t("verdict_" + verdict), "verdict v-" + verdict);
  b.dataset.verdict = verdict;
  return b;
}

// The verdict as shown: the server's state (an "ok" without DNS is unknown) and label.
function shownVerdict(d) {
  const state = d.verdict_state || d.check.verdict;
  return verdictBadge(state, d.verdict_state ? d.verdict_label : null);
}

function render(d, storedAt, storedId) {
  shown = d;
  shownStoredAt = storedAt || null;
  shownStoredId = storedId || null;
  const check = d.check;
  $("result").hidden = false;
  $("result").removeAttribute("aria-busy");
  $("copy").disabled = false;
  $("result").dataset.renders = String(++renders);
  $("result").dataset.lang = d.lang || lang;
  $("stored-note").hidden = !storedAt;
  if (storedAt) {
    $("stored-note").textContent = t("stored_at", { time: formatTime(storedAt, lang) })
      + (d.lang && d.lang !== lang ? " — " + t("stored_lang", { lang: t("lang_" + d.lang) }) : "");
  }
  $("verdict").replaceWith(Object.assign(shownVerdict(d), { id: "verdict" }));
  $("r-address").textContent = check.address;
  const tk = tickets.find((x) => x.id === d.ticket);
  $("r-ticket").textContent = tk ? tk.label[lang] : d.ticket;
  $("r-ticket-id").hidden = !d.ticket_id;
  $("r-ticket-id").textContent = d.ticket_id || "";
  const link = $("permalink");
  link.hidden = !d.permalink;
  if (d.permalink) link.href = d.permalink;
  $("cause").textContent = d.cause || "";
  // The CLI's DNS sentence, when it is not already the cause above.
  $("dns-note").hidden = !d.dns_note || d.dns_note === d.cause;
  $("dns-note").textContent = d.dns_note || "";
  // Our own delivery record, in the summary (desk-delivery.js's renderDelivery, issue 18).
  if (typeof renderDelivery === "function") renderDelivery($("delivery"), d.delivery, d.lang || lang);
  else $("delivery").hidden = true;
  // A cause that is the record's own sentence is said once, in the record's box.
  $("cause").hidden = !d.cause
    || (!$("delivery").hidden && !!d.delivery && d.cause === d.delivery.summary);
  $("draft").value = d.reply_draft;
  $("copied").textContent = "";
  const facts = $("r-facts");
  facts.replaceChildren();
  const add = (k, v) => { if (v) facts.append(el("dt", t(k)), el("dd", v)); };
  add("suggestion", check.suggestion);
  // A tie is "one of" its candidates, never a suggestion: listed for the agent to confirm.
  const tie = check.findings.find((f) => f.code === "typo_ambiguous");
  add("one_of", tie ? tie.evidence.candidates.join(" / ") : "");
  add("carrier", check.carrier ? check.carrier.name + " (" + check.carrier.id + ")" : "");
  add("mx", (check.mx || []).join(", "));
  const findings = $("findings");
  findings.replaceChildren();
  if (!check.findings.length) findings.append(el("li", t("no_findings")));
  for (const f of check.findings) {
    const li = el("li", null, "sev-" + f.severity);
    li.append(el("span", t("sev_" + f.severity), "sev"), el("code", f.code), el("span", f.message, "msg"));
    findings.append(li);
  }
  renderIntake(d);
  renderTrial(d);
  const advice = $("advice");
  advice.replaceChildren();
  for (const a of d.advice_details || []) {
    // The title is what the agent reads; the body folds under it (the id stays a data attribute).
    const li = el("li");
    li.dataset.advice = a.id;
    const box = el("details");
    box.append(el("summary", a.title, "advice-title"), el("div", a.body, "body"));
    li.append(box);
    advice.append(li);
  }
  if (advice.firstElementChild) advice.firstElementChild.querySelector("details").open = true;
}

function renderTrial(d) {
  const trial = d.trial;
  $("trial-head").textContent = trial.ran
    ? t("trial_to") + (trial.subject ? "「" + trial.subject + "」 (" + trial.template + ")" : trial.template) + " → " + trial.recipient
    : t("trial_skipped") + (trial.skipped_reason || "");
  const rows = d.trial_rows || [];
  const bad = rows.filter((r) => r.outcome !== "delivered").length;
  $("trial-summary").textContent = !trial.ran ? "" : bad
    ? "— " + t("trial_counts", { n: rows.length, bad }) : "— " + t("trial_all_ok", { n: rows.length });
  const body = $("trial").querySelector("tbody");
  body.replaceChildren();
  $("trial").hidden = !trial.ran;
  for (const r of rows) {
    const tr = el("tr");
    const oc = el("td");
    oc.append(el("span", r.outcome_label, "badge " + r.outcome));
    // The server's words for the receive-list retry: helps / does not / unknown.
    if (r.receive_list_label) oc.append(el("div", r.receive_list_label, "small"));
    const ev = el("td");
    if (r.evidence_url) {
      const a = el("a", t("open_message") + " #" + r.stored_id, "evidence");
      a.href = r.evidence_url;
      a.target = "_blank";
      a.rel = "noopener";
      ev.append(a);
    } else ev.append(el("span", t("not_stored"), "small"));
    // A refusal here is the harness imitating the setting, whatever words it replied with.
    const reply = (r.smtp_replies || []).slice(-1)[0] || "";
    const rc = el("td");
    rc.append(el("code", reply, "reply"));
    if (/^5/.test(reply)) rc.append(el("div", t("simulated_reply", { setting: r.rule_name || r.label }), "small simulated"));
    tr.append(el("td", r.label), oc, el("td", r.rule + (r.rule_name ? " (" + r.rule_name + ")" : "")), rc, ev);
    body.append(tr);
  }
  labelCells($("trial"));
  $("lesson").textContent = d.lesson || "";
}

// An error in the page's language only (common.js's showError).
function explain(e) {
  if (!e.status) return { text: e instanceof TypeError ? t("err_network") : e.message, detail: "" };
  const known = WORDS[lang]["err_" + e.status] || (e.status >= 500 ? t("err_500") : t("err_400"));
  return { text: known, detail: e.message };
}

function setError(id, error) {
  if (!(error instanceof Error)) return showError($(id), error || "", "", lang, "");
  const { text, detail } = explain(error);
  showError($(id), text, detail, lang, t("details"));
}

// What was sent last, so that a language switch or another candidate asks the same.
let lastAsk = null;
let ticketTouched = false; // the agent chose the type: it is sent, not guessed

// The pasted text goes to the server as it is: it reads the address (and says why),
// the customer's name and the ticket type (POST /api/diagnose's `intake`).
async function submitSingle(ev) {
  ev.preventDefault();
  setError("form-error", "");
  const text = $("input").value;
  if (!text.trim()) return setError("form-error", t("no_address"));
  lastAsk = { text };
  if (ticketTouched) lastAsk.ticket = $("ticket").value;
  return diagnose();
}

// What the server read in the paste: the address the draft uses and why, the greeting,
// the other candidates (one click diagnoses another), the guessed ticket type.
function renderIntake(d) {
  const box = $("intake");
  const intake = d.intake;
  box.replaceChildren();
  box.hidden = !intake || !intake.address || intake.kind === "address"; // typed alone: nothing to say
  $("ticket-guessed").hidden = !(intake && intake.ticket_type_guessed && !ticketTouched && d.ticket === intake.ticket_type);
  if (box.hidden) return;
  const line = el("div");
  line.append(el("span", t("intake_address") + ": "), el("strong", intake.address, "intake-address"),
    el("span", " — " + intake.chosen_because, "small"));
  box.append(line);
  if (intake.salutation) box.append(el("div", t("intake_greets") + ": " + intake.salutation, "small"));
  const others = (intake.candidates || []).filter((c) => c.address !== intake.address && !c.ours);
  if (others.length) {
    const row = el("div", null, "others");
    row.append(el("span", t("intake_others") + " ", "small"));
    for (const c of others) {
      const b = el("button", c.address, "chip pick");
      b.type = "button";
      b.addEventListener("click", () => {
        lastAsk = Object.assign({}, lastAsk || { text: $("input").value }, { choose: c.address });
        diagnose();
      });
      row.append(b);
    }
    box.append(row);
  }
}

function teamFields() {
  const agent = $("agent").value.trim();
  try { localStorage.setItem(AGENT_KEY, agent); } catch (e) { /* private mode */ }
  return { agent, ticket_id: $("ticket-id").value.trim() };
}

// Diagnose `lastAsk` (the paste, the agent's choices) in the page's language.
// replace: the history id this diagnosis redoes (the same one in the other language).
async function diagnose(replace) {
  setError("form-error", "");
  $("busy").hidden = false;
  $("run").disabled = true;
  try {
    const body = Object.assign({}, lastAsk, { lang, tz: readerZone() }, teamFields());
    if (replace) body.replace = replace;
    const d = await postJSON("/api/diagnose", body);
    if (!ticketTouched) $("ticket").value = d.ticket;
    render(d);
    // The answer first: on a phone the form fills the screen, so bring the summary up.
    const top = $("summary").getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight / 2) $("result").scrollIntoView({ block: "start" });
    if (location.pathname.startsWith("/desk/history/")) history.replaceState(null, "", d.permalink);
  } catch (e) {
    setError("form-error", e);
    $("result").removeAttribute("aria-busy");
    $("copy").disabled = false;
  } finally {
    $("busy").hidden = true;
    $("run").disabled = false;
  }
}

async function showStored(id) {
  try {
    const entry = await api("/api/diagnoses/" + encodeURIComponent(id));
    $("input").value = entry.address;
    $("ticket").value = entry.ticket;
    $("ticket-id").value = entry.ticket_id || "";
    render(Object.assign({}, entry.result, { permalink: entry.permalink }), entry.created_at, entry.id);
  } catch (e) {
    setError("form-error", e);
  }
}

// -- history -----------------------------------------------------------------

// The filters as the JSON twin's query string (the page's "as JSON" link is that URL).
function historyQuery() {
  const params = new URLSearchParams();
  const put = (k, v) => { if (v) params.set(k, v); };
  put("q", $("history-q").value.trim());
  put("ticket", $("f-ticket").value);
  put("verdict", $("f-verdict").value);
  put("agent", $("f-agent").value);
  put("from", $("f-from").value);
  put("to", $("f-to").value);
  return params;
}

function fillFilters() {
  const fill = (id, options) => {
    const sel = $(id);
    const keep = sel.value;
    sel.replaceChildren(Object.assign(el("option", t("any")), { value: "" }));
    for (const [value, label] of options) sel.append(Object.assign(el("option", label), { value }));
    sel.value = keep;
  };
  fill("f-ticket", tickets.map((tk) => [tk.id, tk.label[lang]]));
  fill("f-verdict", ["ok", "risky", "undeliverable", "unknown"].map((v) => [v, t("verdict_" + v)]));
  api("/api/diagnoses/agents").then((names) => fill("f-agent", names.map((n) => [n, n]))).catch(() => {});
}

async function loadHistory(ev) {
  if (ev) ev.preventDefault();
  const params = historyQuery();
  $("history-json").href = "/api/diagnoses?" + params.toString();
  params.set("limit", "200");
  params.set("lang", lang);
  let rows;
  let total = 0;
  try {
    const r = await fetch("/api/diagnoses?" + params.toString());
    if (r.status === 401) { location.href = "/login?next=/desk%23history"; return; }
    rows = await r.json();
    if (!r.ok) throw Object.assign(new Error(rows.error), { status: r.status });
    total = Number(r.headers.get("X-Total-Count") || rows.length);
  } catch (e) {
    const { text, detail } = explain(e);
    $("history-total").textContent = lang === "en" && detail ? detail : text;
    return;
  }
  $("history-total").textContent = t("total", { n: total });
  const body = $("history-table").querySelector("tbody");
  body.replaceChildren();
  $("history-empty").hidden = rows.length > 0;
  for (const h of rows) {
    const tr = el("tr", null, "history-row");
    const when = el("td", null, "when");
    const a = el("a", formatTime(h.created_at, lang));
    a.href = h.permalink;
    when.append(a);
    const v = el("td");
    v.append(verdictBadge(h.verdict));
    const tk = tickets.find((x) => x.id === h.ticket);
    tr.append(when, el("td", h.address, "address"), el("td", tk ? tk.label[lang] : h.ticket), v,
      el("td", h.agent || ""), el("td", h.ticket_id || ""),
      el("td", (h.advice_titles || []).join("、"), "small"));
    body.append(tr);
  }
  labelCells($("history-table"));
}

// -- start -------------------------------------------------------------------

// A diagnosis on screen is diagnosed again in the new language (the draft, the advice,
// the trial table and what the copy button copies are words of the server's), under
// the same history id; until it is back the old one is marked busy and cannot be copied.
function switchLang() {
  lang = lang === "ja" ? "en" : "ja";
  saveLang(lang);
  applyI18n(WORDS, lang);
  fillTickets();
  fillFilters();
  if (shown && (shown.lang || "ja") !== lang) {
    $("result").setAttribute("aria-busy", "true");
    $("copy").disabled = true;
    $("copied").textContent = t("relang", { lang: t("lang_" + lang) });
    // A live diagnosis is redone under its own id; a stored one stays the record of what
    // was said, and the new language gets an entry (and permalink) of its own.
    if (shownStoredId || !lastAsk) {
      // A stored one: its address as diagnosed, its type.
      lastAsk = { address: shown.check.address, ticket: shown.ticket };
      if (shown.intake && shown.intake.address) lastAsk.address = shown.intake.address;
    }
    diagnose(shownStoredId ? null : shown.history_id);
  } else if (shown) render(shown, shownStoredAt, shownStoredId);
  if (!$("view-history").hidden) loadHistory();
}

async function logout() {
  try {
    await fetch("/logout", { method: "POST", headers: { "X-CSRF-Token": csrfToken() } });
  } finally {
    location.href = "/login";
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  applyI18n(WORDS, lang);
  const tabs = [...document.querySelectorAll("#desk-tabs [role=tab]")];
  for (const b of tabs) b.addEventListener("click", () => showView(b.dataset.view, true));
  $("desk-tabs").addEventListener("keydown", (e) => {
    const i = tabs.indexOf(document.activeElement);
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
    if (i < 0 || to === undefined) return;
    e.preventDefault();
    showView(tabs[(to + tabs.length) % tabs.length].dataset.view, true, true);
  });
  // Logged in (a session's CSRF cookie): the way out is one click away.
  $("logout").hidden = !csrfToken();
  $("logout").addEventListener("click", logout);
  try { $("agent").value = localStorage.getItem(AGENT_KEY) || ""; } catch (e) { /* private mode */ }
  $("f-clear").addEventListener("click", () => {
    $("history-form").reset();
    loadHistory();
  });
  for (const id of ["f-ticket", "f-verdict", "f-agent", "f-from", "f-to"]) $(id).addEventListener("change", () => loadHistory());
  $("lang-switch").addEventListener("click", switchLang);
  $("diagnose-form").addEventListener("submit", submitSingle);
  $("ticket").addEventListener("change", () => { ticketTouched = true; $("ticket-guessed").hidden = true; });
  $("input").addEventListener("input", () => { ticketTouched = false; });
  $("input").addEventListener("keydown", (e) => {
    // Enter alone adds a line to a pasted mail; Ctrl/Cmd+Enter (or Enter on one line) runs.
    const oneLine = !$("input").value.includes("\n");
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey || (oneLine && !e.shiftKey))) {
      e.preventDefault();
      $("diagnose-form").requestSubmit();
    }
  });
  $("batch-form").addEventListener("submit", runBatch);
  $("batch-stop").addEventListener("click", stopBatch);
  $("history-form").addEventListener("submit", loadHistory);
  $("copy").addEventListener("click", async () => {
    const ok = await copyText($("draft").value, $("draft"));
    $("copied").textContent = ok ? t("copied") : t("copy_failed");
  });
  $("download-csv").addEventListener("click", downloadCSV);
  $("download-json").addEventListener("click", downloadJSON);
  try { tickets = await api("/api/tickets"); } catch (e) { setError("form-error", e); }
  fillTickets();
  fillFilters();
  const m = location.pathname.match(/^\/desk\/history\/(\d+)$/);
  if (m) { showView("single"); showStored(m[1]); return; }
  const view = location.hash.replace("#", "");
  showView(["batch", "history"].includes(view) ? view : "single");
});
