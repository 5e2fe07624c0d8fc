// maildoctor support desk: diagnose one address, a batch, the history.
// Every answer comes from the JSON twins (/api/diagnose, /api/addresses, /api/diagnoses).
"use strict";

const WORDS = {
  ja: {
    doc_title: "maildoctor サポートデスク", title: "maildoctor サポートデスク",
    tab_single: "診断", tab_batch: "一括診断", tab_history: "履歴", tab_harness: "ハーネス",
    input_label: "メールアドレス、または問い合わせ本文を貼り付け",
    input_placeholder: "taro@docomo.ne.jp または お客様からのメール本文",
    found: "見つかったアドレス:", ticket_label: "問い合わせの種類", run: "診断する",
    busy: "診断中…(配信テストを実行しています)", permalink: "この診断へのリンク",
    h_findings: "1. アドレスの確認", h_trial: "2. 配信テスト", h_advice: "3. 対処方法(可能性の高い順)",
    h_reply: "4. 返信文案", th_setting: "受信設定", th_outcome: "結果", th_rule: "判定したルール",
    th_reply: "SMTP応答", th_evidence: "証拠", copy: "返信文をコピー", copied: "コピーしました",
    copy_failed: "コピーできませんでした。文案を選択してコピーしてください。",
    batch_label: "アドレスの一覧(1行に1件)、またはCSVファイル", batch_file: "CSVファイル(UTF-8 / Shift_JIS)",
    batch_run: "一括診断する", batch_stop: "中止", download_csv: "CSVでダウンロード(Excel用)",
    download_json: "JSONでダウンロード", th_address: "アドレス", th_verdict: "判定",
    th_first_advice: "最初の対処", th_link: "詳細", history_search: "アドレスで検索", search: "検索",
    th_time: "日時", th_ticket: "種類", th_advice_ids: "対処", history_empty: "まだ診断はありません。",
    open_message: "メッセージを開く", not_stored: "(保存されていません)", no_findings: "問題は見つかりませんでした。",
    no_address: "アドレスが見つかりません。メールアドレスを入力してください。",
    pick_address: "診断するアドレスを選んでください。", trial_skipped: "配信テストは行っていません: ",
    trial_to: "送信したメール: ", carrier: "キャリア", mx: "メールサーバー(MX)", suggestion: "修正候補",
    stored_at: "保存された診断({time})", total: "{n} 件", progress: "{done} / {total} 件",
    batch_empty: "診断するアドレスがありません。", batch_stopped: "中止しました({done} / {total} 件)",
    batch_done: "完了しました({total} 件)", open: "開く", error_row: "エラー",
    verdict_ok: "問題なし", verdict_risky: "注意", verdict_undeliverable: "配信不可", verdict_unknown: "不明(DNS未確認)",
    sev_error: "エラー", sev_warning: "警告", sev_info: "情報", file_read: "{name}: {n} 件({enc})",
    err_404: "見つかりません(削除されたか、保存期間を過ぎた可能性があります)。",
    err_413: "データが大きすぎます。分割してください。",
    err_503: "ハーネスまたは履歴が使えないため、診断できませんでした。",
    err_network: "サーバーに接続できません。maildoctor serve が動いているか確認してください。",
  },
  en: {
    doc_title: "maildoctor support desk", title: "maildoctor support desk",
    tab_single: "Diagnose", tab_batch: "Batch", tab_history: "History", tab_harness: "Harness",
    input_label: "An address, or paste the customer's message",
    input_placeholder: "taro@docomo.ne.jp, or the text of the customer's mail",
    found: "Addresses found:", ticket_label: "Ticket type", run: "Diagnose",
    busy: "Diagnosing… (running the delivery trial)", permalink: "Link to this diagnosis",
    h_findings: "1. The address", h_trial: "2. Delivery trial", h_advice: "3. What to do (most likely first)",
    h_reply: "4. Reply draft", th_setting: "Settings", th_outcome: "Outcome", th_rule: "Rule",
    th_reply: "SMTP reply", th_evidence: "Evidence", copy: "Copy the reply", copied: "Copied",
    copy_failed: "Could not copy: select the draft and copy it.",
    batch_label: "Addresses (one a line), or a CSV file", batch_file: "CSV file (UTF-8 / Shift_JIS)",
    batch_run: "Diagnose all", batch_stop: "Stop", download_csv: "Download CSV (for Excel)",
    download_json: "Download JSON", th_address: "Address", th_verdict: "Verdict",
    th_first_advice: "First advice", th_link: "Details", history_search: "Search by address", search: "Search",
    th_time: "Time", th_ticket: "Ticket", th_advice_ids: "Advice", history_empty: "No diagnoses yet.",
    open_message: "open the message", not_stored: "(not stored)", no_findings: "No problems found.",
    no_address: "No address found: enter the customer's address.",
    pick_address: "Pick the address to diagnose.", trial_skipped: "No delivery trial: ",
    trial_to: "Mail sent: ", carrier: "Carrier", mx: "Mail servers (MX)", suggestion: "Suggestion",
    stored_at: "A stored diagnosis ({time})", total: "{n} found", progress: "{done} / {total}",
    batch_empty: "There is no address to diagnose.", batch_stopped: "Stopped ({done} / {total})",
    batch_done: "Done ({total})", open: "open", error_row: "error",
    verdict_ok: "ok", verdict_risky: "risky", verdict_undeliverable: "undeliverable", verdict_unknown: "unknown (DNS)",
    sev_error: "error", sev_warning: "warning", sev_info: "info", file_read: "{name}: {n} rows ({enc})",
    err_404: "Not found (deleted, or past the retention limit).",
    err_413: "Too much data: split it.",
    err_503: "The harness or the history could not be used, so there is no diagnosis.",
    err_network: "Cannot reach the server: is maildoctor serve running?",
  },
};

let lang = currentLang();
let tickets = [];
let shown = null;        // the diagnosis on screen, re-rendered when the language changes
let shownStoredAt = null;
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

function showView(name, push) {
  for (const v of ["single", "batch", "history"]) {
    $("view-" + v).hidden = v !== name;
    $("tab-" + v).classList.toggle("active", v === name);
    $("tab-" + v).setAttribute("aria-selected", String(v === name));
  }
  if (name === "history") loadHistory();
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

function verdictBadge(verdict) {
  return el("span", t("verdict_" + verdict), "verdict v-" + verdict);
}

function render(d, storedAt) {
  shown = d;
  shownStoredAt = storedAt || null;
  const check = d.check;
  $("result").hidden = false;
  $("result").dataset.renders = String(++renders);
  $("stored-note").hidden = !storedAt;
  if (storedAt) $("stored-note").textContent = t("stored_at", { time: formatTime(storedAt, lang) });
  renderDelivery($("delivery"), d.delivery);  // desk-delivery.js: the record first
  $("verdict").replaceWith(Object.assign(verdictBadge(check.verdict), { id: "verdict" }));
  $("r-address").textContent = check.address;
  const tk = tickets.find((x) => x.id === d.ticket);
  $("r-ticket").textContent = tk ? tk.label[lang] : d.ticket;
  const link = $("permalink");
  link.hidden = !d.permalink;
  if (d.permalink) link.href = d.permalink;
  const facts = $("r-facts");
  facts.replaceChildren();
  const add = (k, v) => { if (v) facts.append(el("dt", t(k)), el("dd", v)); };
  add("suggestion", check.suggestion);
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
  const trial = d.trial;
  $("trial-head").textContent = trial.ran
    ? t("trial_to") + (trial.subject ? "「" + trial.subject + "」 (" + trial.template + ")" : trial.template) + " → " + trial.recipient
    : t("trial_skipped") + (trial.skipped_reason || "");
  const body = $("trial").querySelector("tbody");
  body.replaceChildren();
  $("trial").hidden = !trial.ran;
  for (const r of d.trial_rows || []) {
    const tr = el("tr");
    const oc = el("td");
    oc.append(el("span", r.outcome_label, "badge " + r.outcome));
    if (r.receive_list_label) oc.append(el("div", r.receive_list_label, "small"));
    const ev = el("td");
    if (r.evidence_url) {
      const a = el("a", t("open_message") + " #" + r.stored_id, "evidence");
      a.href = r.evidence_url;
      a.target = "_blank";
      a.rel = "noopener";
      ev.append(a);
    } else ev.append(el("span", t("not_stored"), "small"));
    tr.append(el("td", r.label), oc, el("td", r.rule + (r.rule_name ? " (" + r.rule_name + ")" : "")),
      el("td", (r.smtp_replies || []).slice(-1)[0] || ""), ev);
    body.append(tr);
  }
  labelCells($("trial"));
  $("lesson").textContent = d.lesson || "";
  const advice = $("advice");
  advice.replaceChildren();
  for (const a of d.advice_details || []) {
    const li = el("li");
    li.dataset.advice = a.id;
    li.append(el("strong", a.title), el("div", a.body, "body"));
    advice.append(li);
  }
  $("draft").value = d.reply_draft;
  $("copied").textContent = "";
}

// An error in the page's language, with the server's own sentence for the details.
function explain(e) {
  if (!e.status) return e instanceof TypeError ? t("err_network") : e.message;
  const known = WORDS[lang]["err_" + e.status];
  return known ? known + " (" + e.message + ")" : e.message;
}

function setError(id, error) {
  const message = error instanceof Error ? explain(error) : error;
  $(id).hidden = !message;
  $(id).textContent = message || "";
}

function showFound(addresses) {
  const list = $("found-list");
  list.replaceChildren();
  $("found").hidden = addresses.length < 2;
  for (const a of addresses) {
    const b = el("button", a, "chip pick");
    b.type = "button";
    b.addEventListener("click", () => diagnose(a));
    list.append(b);
  }
}

// What to diagnose: the text itself when it is one line with an "@", else the
// addresses the server finds in it (one: go; several: let the agent pick).
async function submitSingle(ev) {
  ev.preventDefault();
  setError("form-error", "");
  const text = $("input").value;
  const oneLine = text.trim() && !/\s/.test(text.trim());
  if (oneLine) return diagnose(text.trim());
  let found = [];
  try {
    const r = await api("/api/addresses?mode=text", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ text }),
    });
    found = r.rows.map((x) => x.address);
  } catch (e) { return setError("form-error", e); }
  showFound(found);
  if (found.length === 1) return diagnose(found[0]);
  setError("form-error", found.length ? t("pick_address") : t("no_address"));
}

async function diagnose(address) {
  setError("form-error", "");
  $("busy").hidden = false;
  $("run").disabled = true;
  try {
    const d = await postJSON("/api/diagnose", { address, ticket: $("ticket").value, lang });
    render(d);
  } catch (e) {
    setError("form-error", e);
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
    render(Object.assign({}, entry.result, { permalink: entry.permalink }), entry.created_at);
  } catch (e) {
    setError("form-error", e);
  }
}

// -- history -----------------------------------------------------------------

async function loadHistory(ev) {
  if (ev) ev.preventDefault();
  const q = $("history-q").value.trim();
  let rows;
  let total = 0;
  try {
    const r = await fetch("/api/diagnoses?limit=200&q=" + encodeURIComponent(q));
    if (r.status === 401) { location.href = "/login?next=/desk%23history"; return; }
    rows = await r.json();
    if (!r.ok) throw new Error(rows.error);
    total = Number(r.headers.get("X-Total-Count") || rows.length);
  } catch (e) {
    $("history-total").textContent = e.message;
    return;
  }
  $("history-total").textContent = t("total", { n: total });
  const body = $("history-table").querySelector("tbody");
  body.replaceChildren();
  $("history-empty").hidden = rows.length > 0;
  for (const h of rows) {
    const tr = el("tr", null, "history-row");
    const when = el("td");
    const a = el("a", formatTime(h.created_at, lang));
    a.href = h.permalink;
    when.append(a);
    const v = el("td");
    v.append(verdictBadge(h.verdict));
    const tk = tickets.find((x) => x.id === h.ticket);
    tr.append(when, el("td", h.address, "address"), el("td", tk ? tk.label[lang] : h.ticket), v,
      el("td", h.advice.join(", "), "small"));
    body.append(tr);
  }
  labelCells($("history-table"));
}

// -- start -------------------------------------------------------------------

function switchLang() {
  lang = lang === "ja" ? "en" : "ja";
  saveLang(lang);
  applyI18n(WORDS, lang);
  fillTickets();
  if (shown) render(shown, shownStoredAt);
  if (!$("view-history").hidden) loadHistory();
}

document.addEventListener("DOMContentLoaded", async () => {
  applyI18n(WORDS, lang);
  for (const b of document.querySelectorAll("button.tab")) {
    b.addEventListener("click", () => showView(b.dataset.view, true));
  }
  $("lang-switch").addEventListener("click", switchLang);
  $("diagnose-form").addEventListener("submit", submitSingle);
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
  const m = location.pathname.match(/^\/desk\/history\/(\d+)$/);
  if (m) { showView("single"); showStored(m[1]); return; }
  const view = location.hash.replace("#", "");
  showView(["batch", "history"].includes(view) ? view : "single");
});
