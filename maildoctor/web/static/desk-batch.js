// maildoctor support desk, the batch tab: a pasted list or an uploaded CSV (UTF-8 or
// CP932, decoded by /api/addresses), each address through /api/diagnose with a progress
// bar, and the results as CSV for Excel or JSON. Uses desk.js's helpers.
"use strict";

let batchResults = [];
let batchStop = false;
// The input's own columns as given (its CSV header) and its name for the address column.
let batchInput = { columns: null, address_column: null };

function stopBatch() { batchStop = true; }

async function batchRows() {
  const file = $("batch-file").files[0];
  if (file) {
    const r = await api("/api/addresses", { method: "POST", headers: { "Content-Type": "text/csv" }, body: file });
    $("batch-count").textContent = t("file_read", { name: file.name, n: r.count, enc: r.encoding });
    batchInput = r;
    return r.rows;
  }
  const r = await postJSON("/api/addresses", { text: $("batch-input").value });
  batchInput = r;
  return r.rows;
}

async function runBatch(ev) {
  ev.preventDefault();
  setError("batch-error", "");
  let rows;
  try { rows = await batchRows(); } catch (e) { return setError("batch-error", e); }
  if (!rows.length) return setError("batch-error", t("batch_empty"));
  batchResults = [];
  batchStop = false;
  const chosen = $("batch-ticket").value;
  // A row may name its own ticket type (a "ticket" column holding a type id).
  const ticketOf = (row) => (tickets.some((x) => x.id === row.ticket) ? row.ticket : chosen);
  const body = $("batch-table").querySelector("tbody");
  body.replaceChildren();
  $("batch-table").hidden = false;
  $("batch-progress").hidden = false;
  $("batch-downloads").hidden = true;
  $("batch-run").disabled = true;
  $("batch-stop").hidden = false;
  const bar = $("batch-bar");
  bar.max = rows.length;
  bar.value = 0;
  const total = rows.length;
  $("batch-count").textContent = t("progress", { done: 0, total });
  for (let i = 0; i < total && !batchStop; i++) {
    const row = rows[i];
    const tr = el("tr");
    tr.append(el("td", i + 1), el("td", row.address));
    let d = null;
    try {
      d = await postJSON("/api/diagnose", { address: row.address, ticket: ticketOf(row), lang, tz: readerZone() });
      const v = el("td");
      v.append(verdictBadge(d.check.verdict));
      const first = (d.advice_details || [])[0];
      const link = el("td");
      const a = el("a", t("open"));
      a.href = d.permalink;
      a.target = "_blank";
      link.append(a);
      tr.append(v, el("td", first ? first.title : ""), link);
    } catch (e) {
      tr.append(el("td", t("error_row"), "error"), el("td", explain(e)), el("td"));
    }
    batchResults.push({ row, result: d });
    body.append(tr);
    labelCells($("batch-table"));
    bar.value = i + 1;
    $("batch-count").textContent = t("progress", { done: i + 1, total });
  }
  $("batch-count").textContent = batchStop
    ? t("batch_stopped", { done: batchResults.length, total })
    : t("batch_done", { total });
  $("batch-run").disabled = false;
  $("batch-stop").hidden = true;
  $("batch-downloads").hidden = batchResults.length === 0;
}

function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = el("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// CSV for Excel: the input's columns as given (its header, its own address column), then
// the results. The server writes it (POST /api/csv: one CSV writer for the whole project,
// cells a spreadsheet would run as a formula quoted, UTF-8 with a BOM, CRLF lines).
async function batchCSV() {
  let input = batchInput.columns;
  const addressColumn = batchInput.columns ? batchInput.address_column : "address";
  if (!input) {
    input = ["address"];
    for (const { row } of batchResults) for (const k of Object.keys(row)) if (!input.includes(k)) input.push(k);
  }
  const results = ["verdict", "ticket", "suggestion", "carrier", "codes", "advice", "permalink", "reply_draft"]
    .map((k) => "maildoctor_" + k);
  const rows = batchResults.map(({ row, result }) => {
    const c = result ? result.check : null;
    return [
      ...input.map((k) => (k === addressColumn ? row.address : row[k] === undefined ? "" : row[k])),
      c ? c.verdict : "error", result ? result.ticket : "", c ? c.suggestion : "",
      c && c.carrier ? c.carrier.id : "", c ? c.findings.map((f) => f.code).join(" ") : "",
      result ? result.advice.join(" ") : "", result ? location.origin + result.permalink : "",
      result ? result.reply_draft : "",
    ];
  });
  const r = await postJSON("/api/csv", { header: [...input, ...results], rows });
  return r.csv;
}

async function downloadCSV() {
  try {
    download("maildoctor-batch.csv", "text/csv;charset=utf-8", await batchCSV());
  } catch (e) {
    setError("batch-error", e);
  }
}

function downloadJSON() {
  const items = batchResults.map((x) => Object.assign({ row: x.row }, x.result || { error: true }));
  download("maildoctor-batch.json", "application/json", JSON.stringify(items, null, 2));
}
