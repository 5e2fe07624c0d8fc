// maildoctor support desk: the delivery record (配信記録) that opens a diagnosis.
// renderDelivery(box, delivery, lang) fills `box` from /api/diagnose's `delivery` object:
// the server's own sentences (its words data, in the page's language, times in the
// reader's zone), what was searched, and the latest records, each record's ISO time
// shown in the reader's own time zone, named. Nothing ingested: the box stays hidden.
// Text from the server only ever goes in with textContent (common.js's el).
"use strict";

const DELIVERY_SHOWN = 5;
// Verdicts that change what the agent tells the customer: shown as a warning.
const DELIVERY_WARN = new Set(["bounced_hard", "bounced_soft", "delayed", "suppressed", "no_record"]);

function renderDelivery(box, delivery, lang) {
  box.replaceChildren();
  const nothing = !delivery || (delivery.verdict === "not_searched" && !delivery.error);
  box.hidden = nothing;
  if (nothing) return;
  box.className = "delivery panel" + (DELIVERY_WARN.has(delivery.verdict) || delivery.error ? " warn" : "");
  box.dataset.verdict = delivery.verdict;
  box.append(el("h2", delivery.heading), el("p", delivery.summary, "delivery-summary"));
  if (delivery.searched_text) box.append(el("p", delivery.searched_text, "small"));
  const records = delivery.records || [];
  if (!records.length) return;
  const list = el("ol", null, "delivery-records");
  for (const r of records.slice(0, DELIVERY_SHOWN)) {
    const li = el("li");
    li.dataset.status = r.status;
    const when = el("time", formatTime(r.time, lang));
    when.dateTime = r.time;
    li.append(when, el("span", r.label, "badge " + r.status));
    if (r.reply) li.append(el("div", r.reply, "small reply"));
    list.append(li);
  }
  box.append(list);
}
