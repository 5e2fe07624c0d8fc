// maildoctor harness UI. Mail content is only ever put in the page with
// textContent, and a mail's HTML only in <iframe sandbox> served under a CSP
// sandbox: nothing a mail contains can run.
"use strict";

const $ = (id) => document.getElementById(id);
let selectedId = null;

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

async function getJSON(url, options) {
  const r = await fetch(url, options);
  if (!r.ok) throw new Error(url + ": " + r.status);
  return r.json();
}

function badges(decisions) {
  const span = el("span");
  for (const d of decisions || []) {
    const b = el("span", d.outcome, "badge " + d.outcome);
    b.title = d.recipient + ": " + d.rule + (d.rule_name ? " (" + d.rule_name + ")" : "") + " — " + d.reply;
    span.append(b);
  }
  return span;
}

async function refreshList() {
  const messages = await getJSON("/api/messages?limit=500");
  const body = $("message-list");
  body.replaceChildren();
  for (const m of messages) {
    const tr = el("tr", null, "msg-row");
    tr.dataset.id = m.id;
    if (m.id === selectedId) tr.classList.add("selected");
    tr.append(
      el("td", new Date(m.received_at * 1000).toLocaleTimeString()),
      el("td", m.from || m.mail_from),
      el("td", m.rcpt_tos.join(", ")),
      el("td", m.subject, "subject"),
    );
    const td = el("td");
    td.append(badges(m.decisions));
    tr.append(td);
    tr.addEventListener("click", () => openMessage(m.id));
    body.append(tr);
  }
  $("count").textContent = messages.length ? "(" + messages.length + ")" : "";
  $("empty").hidden = messages.length > 0;
}

function showPane(name) {
  for (const b of document.querySelectorAll("#detail-tabs button")) {
    b.classList.toggle("active", b.dataset.pane === name);
  }
  for (const p of document.querySelectorAll(".pane")) p.hidden = p.id !== "pane-" + name;
}

async function openMessage(id) {
  selectedId = id;
  for (const r of document.querySelectorAll(".msg-row")) {
    r.classList.toggle("selected", Number(r.dataset.id) === id);
  }
  const m = await getJSON("/api/messages/" + id);
  $("detail").hidden = false;
  $("detail-subject").textContent = m.subject || "(no subject)";
  const meta = $("detail-meta");
  meta.replaceChildren();
  const rows = [["From", m.from], ["MAIL FROM", m.mail_from], ["RCPT TO", m.rcpt_tos.join(", ")],
    ["Message-ID", m.message_id], ["Size", m.size + " bytes"], ["Reply", m.reply], ["Id", m.id]];
  for (const [k, v] of rows) meta.append(el("dt", k), el("dd", v));
  $("detail-text").textContent = m.text === null ? "(no text part)" : m.text;
  $("html-frame").src = m.html ? "/api/messages/" + id + "/html" : "about:blank";
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
  for (const h of ["Recipient", "Outcome", "Rule", "Setting", "SMTP reply", "Profile"]) head.append(el("th", h));
  dec.append(head);
  for (const d of m.decisions) {
    const tr = el("tr", null, "decision");
    const oc = el("td");
    oc.append(el("span", d.outcome, "badge " + d.outcome));
    tr.append(el("td", d.recipient), oc, el("td", d.rule, "rule"), el("td", d.rule_name), el("td", d.reply), el("td", d.profile));
    dec.append(tr);
  }
  const lint = $("detail-lint");
  lint.replaceChildren();
  if (m.lint === null) lint.append(el("li", "lint is not available"));
  else if (!m.lint.length) lint.append(el("li", "no findings"));
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
    box.append(el("span", "not verified (start the harness with --auth-dns)"));
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

async function loadGallery() {
  const gallery = $("gallery");
  gallery.replaceChildren();
  let templates;
  try {
    templates = await getJSON("/api/templates");
  } catch (e) {
    gallery.append(el("p", "The templates could not be loaded: " + e.message));
    return;
  }
  for (const t of templates) {
    for (const v of t.variants) {
      const card = el("div", null, "card");
      const q = "?variant=" + encodeURIComponent(v.name);
      card.append(el("h3", t.name + (t.variants.length > 1 ? " / " + v.name : "")));
      const subj = el("p", "", "template-subject");
      card.append(subj);
      const frame = document.createElement("iframe");
      frame.setAttribute("sandbox", "");
      frame.title = t.name;
      frame.src = "/api/templates/" + encodeURIComponent(t.name) + "/html" + q;
      card.append(frame);
      const text = el("pre", "");
      const lint = el("ul");
      card.append(el("h4", "text/plain"), text, el("h4", "lint"), lint);
      gallery.append(card);
      getJSON("/api/templates/" + encodeURIComponent(t.name) + q).then((r) => {
        subj.textContent = r.subject;
        text.textContent = r.text;
        for (const f of r.lint || []) lint.append(el("li", f.code + ": " + f.message, "sev-" + f.severity));
        if (r.lint && !r.lint.length) lint.append(el("li", "no findings"));
      }).catch((e) => { subj.textContent = e.message; });
    }
  }
}

function showView(name) {
  $("messages-view").hidden = name !== "messages";
  $("templates-view").hidden = name !== "templates";
  $("tab-messages").classList.toggle("active", name === "messages");
  $("tab-templates").classList.toggle("active", name === "templates");
  if (name === "templates") loadGallery();
}

function connectEvents() {
  const source = new EventSource("/api/events");
  source.onopen = () => $("live").classList.add("on");
  source.onmessage = () => refreshList();
  source.onerror = () => $("live").classList.remove("on");
}

document.addEventListener("DOMContentLoaded", () => {
  for (const b of document.querySelectorAll("#detail-tabs button")) {
    b.addEventListener("click", () => showPane(b.dataset.pane));
  }
  $("tab-messages").addEventListener("click", () => showView("messages"));
  $("tab-templates").addEventListener("click", () => showView("templates"));
  $("delete-all").addEventListener("click", async () => {
    if (!confirm("Delete every stored message?")) return;
    await fetch("/api/messages", { method: "DELETE" });
    selectedId = null;
    $("detail").hidden = true;
    refreshList();
  });
  refreshList();
  connectEvents();
  // Events are the fast path; a slow poll covers a dropped event stream.
  setInterval(refreshList, 10000);
});
