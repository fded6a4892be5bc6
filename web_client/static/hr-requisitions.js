// Requisition dashboard: candidates ranked by composite match with the reasons; a person
// records the decision (with a reason) and makes the offer.
import {
  $, el, field, fmt, get, initPage, onSubmit, personName, post, rememberName, report,
  reportInto, setStatus, syntheticBadge, syntheticBanner, table, when,
} from "/static/hr-common.js";

const PAGE = 20;
const BANDS = {
  high: "High match",
  medium: "Medium match",
  low: "Low match",
  incomplete: "Incomplete data",
};
const DECISIONS = [
  ["advance", "Advance", "passes this stage; more steps follow"],
  ["offer", "Offer", "passes; an offer may be made"],
  ["hold", "Hold", "no decision yet"],
  ["reject", "Reject", "does not continue"],
];
const OFFER_STATES = {
  sent: "offer sent, waiting for the candidate",
  accepted: "offer accepted",
  declined: "offer declined",
  withdrawn: "offer withdrawn",
};

let current = null; // {id, requisition, offset, total}
const candidateLinks = new Map(); // interview id -> candidate link of an offer made in this tab

async function start() {
  const rows = await get("/api/requisitions");
  const body = $("requisitions").querySelector("tbody");
  body.replaceChildren(...rows.map((r) => el("tr", { "data-id": r.id },
    el("td", {}, el("a", { href: `#${r.id}` }, r.title), " ", syntheticBadge(r.synthetic)),
    el("td", {}, r.family),
    el("td", {}, r.language),
    el("td", {}, when(r.created_at)),
  )));
  setStatus(rows.length ? `${rows.length} requisition(s): choose one to see its candidates.`
    : "No requisitions yet.");
  await openFromHash();
}

async function openFromHash() {
  const rid = decodeURIComponent(location.hash.slice(1));
  for (const tr of $("requisitions").querySelectorAll("tbody tr")) {
    if (tr.dataset.id === rid) tr.setAttribute("aria-current", "true");
    else tr.removeAttribute("aria-current");
  }
  if (!rid) {
    $("detail").hidden = true;
    return;
  }
  current = { id: rid, offset: 0, total: 0, requisition: null };
  $("ranking").replaceChildren();
  $("summary").textContent = "Loading the ranking…";
  $("detail").hidden = false;
  await loadPage();
  $("detail-title").focus();
}

async function loadPage() {
  const rid = current.id;
  const data = await get(`/api/requisitions/${encodeURIComponent(rid)}/ranking?limit=${PAGE}&offset=${current.offset}`);
  if (!current || current.id !== rid) return; // another requisition was chosen meanwhile
  const req = data.requisition;
  current.requisition = req;
  current.total = data.total;
  $("detail-title").textContent = req.title;
  syntheticBanner($("detail"), req.synthetic);
  const band = req.salary_band;
  $("detail-facts").textContent = [
    `Family: ${req.family}`,
    `Language: ${req.language}`,
    band ? `Salary band: ${money(band.min)}–${money(band.max)} ${band.currency || "EUR"}` : "No salary band",
    `Probation: ${req.probation_months} months`,
  ].join(" · ");
  renderWeights(req);
  const bandText = Object.entries(data.bands).map(([b, n]) => `${BANDS[b] || b}: ${n}`).join(" · ");
  $("summary").textContent = `${data.total} interviewed candidate(s), best match first${bandText ? ` — ${bandText}` : ""}.`;
  const added = data.candidates.map((c, i) => card(c, current.offset + i + 1));
  $("ranking").append(...added);
  current.offset += data.candidates.length;
  $("more").hidden = current.offset >= data.total;
  return added;
}

// "Show more": the first new candidate gets the focus (the button may disappear).
async function showMore() {
  const added = await loadPage();
  if (added && added.length) added[0].querySelector("h3").focus();
}

function money(v) {
  return v == null ? "–" : Number(v).toLocaleString("en");
}

function renderWeights(req) {
  const m = req.match || { parts: [] };
  const rows = (m.parts || []).map((p) => {
    const total = m.parts.reduce((a, q) => a + Number(q.weight || 0), 0) || 1;
    return [
      p.label || (p.name || p.kind).replaceAll("_", " "),
      p.kind,
      `${fmt((100 * Number(p.weight || 0)) / total, 0)}%`,
      p.required == null ? "–" : String(p.required),
      p.scale ? `${p.scale[0]}–${p.scale[1]} → 0–100` : "0–100",
    ];
  });
  const bands = m.bands || {};
  $("weights").replaceChildren(
    table(["Part", "Source", "Share of the score", "Required (0–100)", "Scale"], rows, { id: "weights-table" }),
    el("p", { class: "small" },
      `Bands: high ≥ ${bands.high ?? 75}, medium ≥ ${bands.medium ?? 55}. `,
      req.match_configured ? "Configured for this requisition." : "Default: the rubric's competency weights."),
  );
}

function bandPill(band) {
  return el("span", { class: `band band-${band}` }, BANDS[band] || band);
}

function reasons(match) {
  return el("ul", { class: "reasons" }, ...match.parts.map((p) => {
    if (p.met === false) {
      return el("li", { class: "below" }, el("strong", {}, "✗ Below requirement: "), p.reason);
    }
    if (p.met === true) return el("li", { class: "met" }, el("span", { "aria-hidden": "true" }, "✓ "), p.reason);
    if (p.value == null) return el("li", { class: "missing" }, el("span", { "aria-hidden": "true" }, "? "), p.reason);
    return el("li", {}, p.reason);
  }));
}

function stateLine(node, decision, decidedBy, offer, employeeId) {
  const parts = [];
  parts.push(decision ? `Latest decision: ${decision}${decidedBy ? ` (by ${decidedBy})` : ""}` : "No decision recorded yet");
  if (offer) parts.push(`Offer: ${OFFER_STATES[offer] || offer}`);
  node.replaceChildren(parts.join(" · "));
  if (employeeId != null) {
    node.append(" · ", el("a", { href: `/hr/employees#${employeeId}` }, "Employee record"));
  }
}

function card(c, rank) {
  const m = c.match;
  const state = el("p", { class: "state" });
  stateLine(state, c.decision, c.decided_by, c.offer, c.employee_id);
  const reportBox = el("div", { class: "report-inline", hidden: "" });
  const readBtn = el("button", { type: "button", class: "link" }, "Read the interview report");
  readBtn.addEventListener("click", async () => {
    if (!reportBox.hidden) {
      reportBox.hidden = true;
      readBtn.textContent = "Read the interview report";
      return;
    }
    try {
      await reportInto(reportBox, c.interview_id);
      readBtn.textContent = "Hide the report";
    } catch (err) {
      report(err);
    }
  });
  const body = el("div", { class: "workflow-body" }, "Loading…");
  // What the last action did; it takes the focus after the action (the forms are redrawn).
  const said = el("p", { class: "workflow-status", tabindex: "-1" });
  const synthetic = current && current.requisition && current.requisition.synthetic;
  const workflow = el("details", { class: "workflow" },
    el("summary", {}, synthetic ? "Decisions and offer (read only)" : "Decide and offer"), said, body);
  const li = el("li", { class: "candidate", "data-interview": c.interview_id, "data-score": m.score ?? "" },
    el("div", { class: "cand-head" },
      el("h3", { tabindex: "-1" }, `${rank}. ${c.candidate_name}`),
      el("span", { class: "match-score" }, "Match ", el("strong", {}, m.score == null ? "–" : fmt(m.score, 1))),
      bandPill(m.band),
      el("span", { class: "small" }, `data for ${fmt(100 * m.coverage, 0)}% of the weight`,
        c.overall == null ? "" : ` · interview overall ${fmt(c.overall, 1)}`),
    ),
    el("p", { class: "recommendation" }, el("strong", {}, "System recommends: "), m.recommendation),
    reasons(m),
    state,
    readBtn,
    reportBox,
    workflow,
  );
  const ui = { body, state, said };
  const refresh = () => loadWorkflow(c, ui).catch((err) => {
    body.replaceChildren(el("p", { class: "form-error", role: "alert" }, err.message));
  });
  workflow.addEventListener("toggle", () => {
    if (workflow.open) refresh();
  });
  return li;
}

// Say what an action did in the card, and move the focus there (the forms were redrawn).
function tell(ui, message, kind = "") {
  ui.said.textContent = message;
  ui.said.dataset.kind = kind;
  ui.said.focus();
}

async function loadWorkflow(c, ui) {
  const { body, state } = ui;
  const iid = c.interview_id;
  const s = await get(`/api/interviews/${encodeURIComponent(iid)}/decision`);
  const last = s.decisions.length ? s.decisions[s.decisions.length - 1] : null;
  const offer = s.offer;
  if (s.employee_id != null) c.employee_id = s.employee_id; // set once the offer is accepted
  stateLine(state, last && last.decision, last && last.decided_by, offer && offer.state, c.employee_id);
  const reload = () => loadWorkflow(c, ui);
  const nodes = [];
  const synthetic = current && current.requisition && current.requisition.synthetic;
  if (synthetic) {
    nodes.push(el("p", { class: "notice read-only" },
      "Synthetic (generated) data is for analytics only: no decisions or offers are recorded on it."));
  }
  if (s.decisions.length) {
    nodes.push(el("h4", {}, "Decisions recorded"), table(
      ["When", "Decision", "By", "Reason"],
      s.decisions.map((d) => [when(d.decided_at), d.decision, d.decided_by, d.reason]),
      { class: "decisions" },
    ));
  }
  if (!synthetic && !(offer && offer.state === "accepted")) {
    nodes.push(decisionForm(iid, s.recommendation, offer, reload, ui));
  }
  nodes.push(offerSection(iid, last, offer, reload, ui, synthetic));
  body.replaceChildren(...nodes);
}

function decisionForm(iid, rec, offer, reload, ui) {
  const offerSent = offer && offer.state === "sent";
  const radios = DECISIONS.map(([value, label, help], i) => {
    const input = el("input", { type: "radio", name: "decision", value, id: `d-${iid}-${value}` });
    if (i === 0) input.required = true;
    return el("label", { for: input.id, class: "radio" }, input, ` ${label} `, el("span", { class: "small" }, `(${help})`));
  });
  const reason = el("textarea", { name: "reason", required: "", minlength: "3", maxlength: "2000", rows: "2" });
  const by = el("input", { name: "decided_by", required: "", maxlength: "200", autocomplete: "name", value: personName() });
  const form = el("form", { class: "decision-form" },
    el("h4", {}, "Your decision"),
    el("p", { class: "small" }, "The system recommends",
      rec ? `: ${rec.recommendation} (score ${fmt(rec.score, 1)}, ${BANDS[rec.band] || rec.band}).` : " nothing (no report yet).",
      " You decide, and your name and reason are recorded with it."),
    offerSent ? el("p", { class: "warning", id: `d-${iid}-withdraws` },
      el("strong", {}, "An offer is waiting for the candidate. "),
      "Any decision other than “offer” withdraws it: the candidate can then no longer accept it.") : "",
    el("fieldset", {}, el("legend", {}, "Decision"), ...radios),
    field("Reason (required)", reason),
    field("Decided by (your name)", by),
    el("button", { type: "submit" }, "Record decision"),
  );
  return onSubmit(form, async (data) => {
    const decision = String(data.get("decision"));
    if (offerSent && decision !== "offer") {
      const ok = confirm(`Recording “${decision}” withdraws the offer sent on ${when(offer.created_at)}: `
        + "the candidate can no longer accept it. Record the decision and withdraw the offer?");
      if (!ok) {
        tell(ui, "Nothing recorded: the offer still stands.");
        return;
      }
    }
    rememberName(data.get("decided_by"));
    await post(`/api/interviews/${encodeURIComponent(iid)}/decision`, {
      decision,
      reason: String(data.get("reason") || ""),
      decided_by: String(data.get("decided_by") || ""),
    });
    const withdrawn = offerSent && decision !== "offer";
    if (withdrawn) candidateLinks.delete(iid);
    await reload();
    tell(ui, withdrawn ? `Decision “${decision}” recorded; the offer was withdrawn.` : `Decision “${decision}” recorded.`);
  });
}

function nextMonthStart() {
  const d = new Date();
  const first = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
  return first.toISOString().slice(0, 10);
}

function offerSection(iid, last, offer, reload, ui, readOnly) {
  const box = el("section", { class: "offer-box" }, el("h4", {}, "Offer"));
  const open = offer && (offer.state === "sent" || offer.state === "accepted");
  if (offer) {
    box.append(el("p", {}, `Current offer: ${OFFER_STATES[offer.state] || offer.state} (made ${when(offer.created_at)}`,
      offer.answered_at ? `, answered ${when(offer.answered_at)}` : "", ").",
      offer.accepted_name ? ` Accepted by the typed name “${offer.accepted_name}”.` : ""));
  }
  if (readOnly) {
    if (offer) box.append(el("pre", { class: "offer-text" }, offer.text));
    else box.append(el("p", { class: "small" }, "No offer."));
    return box;
  }
  if (offer && offer.state === "sent") {
    const link = candidateLinks.get(iid);
    if (link) box.append(linkBox(link));
    else {
      const again = el("button", { type: "button", class: "link" }, "Make a new candidate link");
      again.addEventListener("click", async () => {
        try {
          const out = await post(`/api/interviews/${encodeURIComponent(iid)}/job-offer/link`, {});
          candidateLinks.set(iid, out.candidate_url);
          const fresh = linkBox(out.candidate_url);
          again.parentElement.replaceWith(fresh);
          fresh.querySelector("input").focus();
        } catch (err) {
          if (err.status !== 401) tell(ui, `No new link: ${err.message}`, "error");
        }
      });
      box.append(el("p", { class: "small" }, "Links are not stored. ", again));
    }
    box.append(el("pre", { class: "offer-text" }, offer.text));
    box.append(withdrawForm(iid, reload, ui));
  } else if (offer && offer.state === "accepted") {
    box.append(el("pre", { class: "offer-text" }, offer.text));
  }
  if (!open) {
    if (last && last.decision === "offer") box.append(offerForm(iid, reload, ui));
    else box.append(el("p", { class: "small" }, "An offer can be made once a person has recorded the decision “offer”."));
  }
  return box;
}

function linkBox(url) {
  const input = el("input", { type: "text", readonly: "", value: url, class: "candidate-link", size: "60" });
  const copy = el("button", { type: "button", class: "copy" }, "Copy link");
  const done = el("span", { class: "small", role: "status" });
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(url);
    } catch {
      input.select();
      document.execCommand("copy");
    }
    done.textContent = "Copied.";
  });
  return el("div", { class: "link-box" },
    field("Send this link to the candidate (valid 30 days):", input), copy, " ", done);
}

function offerForm(iid, reload, ui) {
  const req = current.requisition;
  const band = req.salary_band || {};
  const currency = band.currency || "EUR";
  // step 1: the server takes whole units (a step counted from min would refuse valid salaries)
  const salary = el("input", { type: "number", name: "salary", required: "", step: "1", min: String(band.min ?? 1) });
  if (band.max != null) salary.max = String(band.max);
  const startDate = el("input", { type: "date", name: "start_date", required: "", value: nextMonthStart() });
  const months = el("input", { type: "number", name: "probation_months", min: "0", max: "24", required: "",
    value: String(req.probation_months ?? 6) });
  const by = el("input", { name: "created_by", required: "", maxlength: "200", autocomplete: "name", value: personName() });
  const form = el("form", { class: "offer-form" },
    field(`Annual salary (${currency})`, salary,
      band.min != null ? `The requisition's band: min ${money(band.min)}, max ${money(band.max)} ${currency}` : "No salary band set"),
    field("Start date", startDate),
    field("Probation (months)", months, `The requisition's default: ${req.probation_months} months`),
    field("Offer made by (your name)", by),
    el("button", { type: "submit" }, "Make the offer"),
  );
  onSubmit(form, async (data) => {
    rememberName(data.get("created_by"));
    const offer = await post(`/api/interviews/${encodeURIComponent(iid)}/job-offer`, {
      salary: Number(data.get("salary")),
      start_date: String(data.get("start_date")),
      probation_months: Number(data.get("probation_months")),
      created_by: String(data.get("created_by") || ""),
    });
    candidateLinks.set(iid, offer.candidate_url);
    await reload();
    ui.said.textContent = "Offer made: send the candidate the link.";
    ui.said.dataset.kind = "";
    const input = ui.body.querySelector("input.candidate-link");
    if (input) input.focus();
    else ui.said.focus();
  });
  return form;
}

function withdrawForm(iid, reload, ui) {
  const by = el("input", { name: "by", required: "", maxlength: "200", autocomplete: "name", value: personName() });
  const form = el("form", { class: "withdraw-form" },
    field("Withdrawn by (your name)", by),
    el("button", { type: "submit", class: "danger" }, "Withdraw the offer"),
  );
  return onSubmit(form, async (data) => {
    if (!confirm("Withdraw this offer? The candidate can no longer accept it.")) return;
    rememberName(data.get("by"));
    await post(`/api/interviews/${encodeURIComponent(iid)}/job-offer/withdraw`, { by: String(data.get("by")) });
    candidateLinks.delete(iid);
    await reload();
    tell(ui, "Offer withdrawn.");
  });
}

$("more").addEventListener("click", () => showMore().catch(report));
window.addEventListener("hashchange", () => openFromHash().catch(report));
initPage(start);
