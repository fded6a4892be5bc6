// Requisition dashboard: candidates ranked by composite match with the reasons; a person
// records the decision (with a reason) and makes the offer.
import {
  $, competency, el, field, fmt, get, initPage, lang, num, onSubmit, personName, post, rememberName,
  report, reportInto, setStatus, syntheticBadge, syntheticBanner, table, tr, trOr, when,
} from "/static/hr-common.js";

const PAGE = 20;
const bandName = (b) => trOr(`hr_band_${b}`, b);
const DECISIONS = ["advance", "offer", "hold", "reject"];
const decisionName = (d) => trOr(`hr_decision_${d}_word`, d);
const offerState = (s) => trOr(`hr_offer_state_${s}`, s);
const languageName = (code) => trOr(`hr_lang_${code}`, code);

let current = null; // {id, requisition, offset, total}
const candidateLinks = new Map(); // interview id -> candidate link of an offer made in this tab

async function start() {
  const rows = await get("/api/requisitions");
  const body = $("requisitions").querySelector("tbody");
  body.replaceChildren(...rows.map((r) => el("tr", { "data-id": r.id },
    el("td", {}, el("a", { href: `#${r.id}` }, r.title), " ", syntheticBadge(r.synthetic)),
    el("td", {}, r.family),
    el("td", {}, languageName(r.language)),
    el("td", {}, when(r.created_at)),
  )));
  setStatus(rows.length ? tr("hr_req_count", { n: rows.length }) : tr("hr_req_none"));
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
  $("summary").textContent = tr("hr_req_loading_ranking");
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
    tr("hr_req_fact_family", { family: req.family }),
    tr("hr_req_fact_language", { language: languageName(req.language) }),
    band ? tr("hr_req_fact_band", { min: money(band.min), max: money(band.max), currency: band.currency || "EUR" })
      : tr("hr_req_no_band"),
    tr("hr_req_fact_probation", { n: req.probation_months }),
  ].join(" · ");
  renderWeights(req);
  const bandText = Object.entries(data.bands).map(([b, n]) => `${bandName(b)}: ${n}`).join(" · ");
  $("summary").textContent = bandText ? tr("hr_req_summary_bands", { n: data.total, bands: bandText })
    : tr("hr_req_summary", { n: data.total });
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
  return num(v);
}

// A part's label: the configured one as typed, else the competency's name in this language.
function partLabel(p) {
  const plain = (p.name || p.kind).replaceAll("_", " ");
  if (p.label && p.label !== plain) return p.label;
  return p.kind === "competency" || p.kind === "rating" ? competency(p.name) : trOr(`hr_part_${p.kind}`, plain);
}

function renderWeights(req) {
  const m = req.match || { parts: [] };
  const rows = (m.parts || []).map((p) => {
    const total = m.parts.reduce((a, q) => a + Number(q.weight || 0), 0) || 1;
    return [
      partLabel(p),
      trOr(`hr_source_${p.kind}`, p.kind),
      `${fmt((100 * Number(p.weight || 0)) / total, 0)}%`,
      p.required == null ? "–" : num(p.required),
      p.scale ? `${num(p.scale[0])}–${num(p.scale[1])} → 0–100` : "0–100",
    ];
  });
  const bands = m.bands || {};
  $("weights").replaceChildren(
    table([tr("hr_w_part"), tr("hr_w_source"), tr("hr_w_share"), tr("hr_w_required"), tr("hr_w_scale")], rows,
      { id: "weights-table" }),
    el("p", { class: "small" },
      tr("hr_w_bands", { high: bands.high ?? 75, medium: bands.medium ?? 55 }), " ",
      req.match_configured ? tr("hr_w_configured") : tr("hr_w_default")),
  );
}

function bandPill(band) {
  return el("span", { class: `band band-${band}` }, bandName(band));
}

function reasons(match) {
  return el("ul", { class: "reasons" }, ...match.parts.map((p) => {
    const why = reasonText(p);
    if (p.met === false) {
      return el("li", { class: "below" }, el("strong", {}, `✗ ${tr("hr_below_requirement")} `), why);
    }
    if (p.met === true) return el("li", { class: "met" }, el("span", { "aria-hidden": "true" }, "✓ "), why);
    if (p.value == null) return el("li", { class: "missing" }, el("span", { "aria-hidden": "true" }, "? "), why);
    return el("li", {}, why);
  }));
}

// The server writes each part's reason in English; other languages build it from the part's
// numbers with the catalogue's sentences.
function reasonText(p) {
  if (lang === "en") return p.reason;
  const label = partLabel(p);
  const share = tr("hr_reason_share", { pct: fmt(100 * Number(p.weight || 0), 0) });
  if (p.value == null) {
    return tr("hr_reason_missing", { label, source: trOr(`hr_missing_${p.kind}`, tr("hr_missing_fact")), share });
  }
  let shown = fmt(p.value, 0);
  if (p.kind === "fact" && p.raw != null) shown = tr("hr_reason_scaled", { raw: num(p.raw), value: fmt(p.value, 0) });
  else if (p.kind === "requirements") shown = tr("hr_reason_requirements", { value: fmt(p.value, 0) });
  else if (p.kind === "rating") shown = tr("hr_reason_rating", { raw: fmt(p.raw, 1), value: fmt(p.value, 0) });
  if (p.required == null) return tr("hr_reason_plain", { label, shown, share });
  return tr(p.met ? "hr_reason_meets" : "hr_reason_below", { label, shown, required: num(p.required), share });
}

// The recommendation follows from the band; the server's sentence is English.
function recommendationText(m) {
  return lang === "en" ? m.recommendation : trOr(`hr_recommend_${m.band}`, m.recommendation);
}

function stateLine(node, decision, decidedBy, offer, employeeId) {
  const parts = [];
  if (decision) {
    parts.push(decidedBy ? tr("hr_latest_decision_by", { decision: decisionName(decision), by: decidedBy })
      : tr("hr_latest_decision", { decision: decisionName(decision) }));
  } else parts.push(tr("hr_no_decision"));
  if (offer) parts.push(tr("hr_offer_line", { state: offerState(offer) }));
  node.replaceChildren(parts.join(" · "));
  if (employeeId != null) {
    node.append(" · ", el("a", { href: `/hr/employees#${employeeId}` }, tr("hr_employee_record")));
  }
}

function card(c, rank) {
  const m = c.match;
  const state = el("p", { class: "state" });
  stateLine(state, c.decision, c.decided_by, c.offer, c.employee_id);
  const reportBox = el("div", { class: "report-inline", hidden: "" });
  const readBtn = el("button", { type: "button", class: "link" }, tr("hr_read_report"));
  readBtn.addEventListener("click", async () => {
    if (!reportBox.hidden) {
      reportBox.hidden = true;
      readBtn.textContent = tr("hr_read_report");
      return;
    }
    try {
      await reportInto(reportBox, c.interview_id);
      readBtn.textContent = tr("hr_hide_report");
    } catch (err) {
      report(err);
    }
  });
  const body = el("div", { class: "workflow-body" }, tr("hr_loading"));
  // What the last action did; it takes the focus after the action (the forms are redrawn).
  const said = el("p", { class: "workflow-status", tabindex: "-1" });
  const synthetic = current && current.requisition && current.requisition.synthetic;
  const workflow = el("details", { class: "workflow" },
    el("summary", {}, synthetic ? tr("hr_workflow_read_only") : tr("hr_workflow")), said, body);
  const li = el("li", { class: "candidate", "data-interview": c.interview_id, "data-score": m.score ?? "" },
    el("div", { class: "cand-head" },
      el("h3", { tabindex: "-1" }, `${rank}. ${c.candidate_name}`),
      el("span", { class: "match-score" }, `${tr("hr_match")} `, el("strong", {}, m.score == null ? "–" : fmt(m.score, 1))),
      bandPill(m.band),
      el("span", { class: "small" }, tr("hr_coverage", { pct: fmt(100 * m.coverage, 0) }),
        c.overall == null ? "" : ` · ${tr("hr_interview_overall", { value: fmt(c.overall, 1) })}`),
    ),
    el("p", { class: "recommendation" }, el("strong", {}, `${tr("hr_system_recommends")} `), recommendationText(m)),
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
    nodes.push(el("p", { class: "notice read-only" }, tr("hr_synthetic_read_only")));
  }
  if (s.decisions.length) {
    nodes.push(el("h4", {}, tr("hr_decisions_recorded")), table(
      [tr("hr_col_when"), tr("hr_col_decision"), tr("hr_col_by"), tr("hr_col_reason")],
      s.decisions.map((d) => [when(d.decided_at), decisionName(d.decision), d.decided_by, d.reason]),
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
  const radios = DECISIONS.map((value, i) => {
    const input = el("input", { type: "radio", name: "decision", value, id: `d-${iid}-${value}` });
    if (i === 0) input.required = true;
    return el("label", { for: input.id, class: "radio" }, input, ` ${tr(`hr_decision_${value}`)} `,
      el("span", { class: "small" }, `(${tr(`hr_decision_${value}_help`)})`));
  });
  const reason = el("textarea", { name: "reason", required: "", minlength: "3", maxlength: "2000", rows: "2" });
  const by = el("input", { name: "decided_by", required: "", maxlength: "200", autocomplete: "name", value: personName() });
  const form = el("form", { class: "decision-form" },
    el("h4", {}, tr("hr_your_decision")),
    el("p", { class: "small" },
      rec ? tr("hr_rec_says", { rec: recommendationText(rec), score: fmt(rec.score, 1), band: bandName(rec.band) })
        : tr("hr_rec_nothing"),
      " ", tr("hr_you_decide")),
    offerSent ? el("p", { class: "warning", id: `d-${iid}-withdraws` },
      el("strong", {}, `${tr("hr_offer_waiting")} `), tr("hr_offer_waiting_withdraws")) : "",
    el("fieldset", {}, el("legend", {}, tr("hr_col_decision")), ...radios),
    field(tr("hr_reason_required"), reason),
    field(tr("hr_decided_by"), by),
    el("button", { type: "submit" }, tr("hr_record_decision")),
  );
  return onSubmit(form, async (data) => {
    const decision = String(data.get("decision"));
    if (offerSent && decision !== "offer") {
      const ok = confirm(tr("hr_confirm_withdraw_by_decision", { decision: decisionName(decision), when: when(offer.created_at) }));
      if (!ok) {
        tell(ui, tr("hr_nothing_recorded"));
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
    tell(ui, tr(withdrawn ? "hr_decision_recorded_withdrawn" : "hr_decision_recorded", { decision: decisionName(decision) }));
  });
}

function nextMonthStart() {
  const d = new Date();
  const first = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
  return first.toISOString().slice(0, 10);
}

function offerSection(iid, last, offer, reload, ui, readOnly) {
  const box = el("section", { class: "offer-box" }, el("h4", {}, tr("hr_offer")));
  const open = offer && (offer.state === "sent" || offer.state === "accepted");
  if (offer) {
    box.append(el("p", {},
      tr(offer.answered_at ? "hr_current_offer_answered" : "hr_current_offer",
        { state: offerState(offer.state), made: when(offer.created_at), answered: when(offer.answered_at) }),
      offer.accepted_name ? ` ${tr("hr_accepted_by_name", { name: offer.accepted_name })}` : ""));
  }
  if (readOnly) {
    if (offer) box.append(el("pre", { class: "offer-text" }, offer.text));
    else box.append(el("p", { class: "small" }, tr("hr_no_offer")));
    return box;
  }
  if (offer && offer.state === "sent") {
    const link = candidateLinks.get(iid);
    if (link) box.append(linkBox(link));
    else {
      const again = el("button", { type: "button", class: "link" }, tr("hr_new_link"));
      again.addEventListener("click", async () => {
        try {
          const out = await post(`/api/interviews/${encodeURIComponent(iid)}/job-offer/link`, {});
          candidateLinks.set(iid, out.candidate_url);
          const fresh = linkBox(out.candidate_url);
          again.parentElement.replaceWith(fresh);
          fresh.querySelector("input").focus();
        } catch (err) {
          if (err.status !== 401) tell(ui, tr("hr_no_new_link", { msg: err.message }), "error");
        }
      });
      box.append(el("p", { class: "small" }, `${tr("hr_links_not_stored")} `, again));
    }
    box.append(el("pre", { class: "offer-text" }, offer.text));
    box.append(withdrawForm(iid, reload, ui));
  } else if (offer && offer.state === "accepted") {
    box.append(el("pre", { class: "offer-text" }, offer.text));
  }
  if (!open) {
    if (last && last.decision === "offer") box.append(offerForm(iid, reload, ui));
    else box.append(el("p", { class: "small" }, tr("hr_offer_needs_decision")));
  }
  return box;
}

function linkBox(url) {
  const input = el("input", { type: "text", readonly: "", value: url, class: "candidate-link", size: "60" });
  const copy = el("button", { type: "button", class: "copy" }, tr("hr_copy_link"));
  const done = el("span", { class: "small", role: "status" });
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(url);
    } catch {
      input.select();
      document.execCommand("copy");
    }
    done.textContent = tr("hr_copied");
  });
  return el("div", { class: "link-box" }, field(tr("hr_send_link"), input), copy, " ", done);
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
    field(tr("hr_annual_salary", { currency }), salary,
      band.min != null ? tr("hr_band_hint", { min: money(band.min), max: money(band.max), currency }) : tr("hr_no_band_set")),
    field(tr("hr_start_date"), startDate),
    field(tr("hr_probation_months"), months, tr("hr_probation_default", { n: req.probation_months })),
    field(tr("hr_offer_made_by"), by),
    el("button", { type: "submit" }, tr("hr_make_offer")),
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
    ui.said.textContent = tr("hr_offer_made");
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
    field(tr("hr_withdrawn_by"), by),
    el("button", { type: "submit", class: "danger" }, tr("hr_withdraw_offer")),
  );
  return onSubmit(form, async (data) => {
    if (!confirm(tr("hr_confirm_withdraw"))) return;
    rememberName(data.get("by"));
    await post(`/api/interviews/${encodeURIComponent(iid)}/job-offer/withdraw`, { by: String(data.get("by")) });
    candidateLinks.delete(iid);
    await reload();
    tell(ui, tr("hr_offer_withdrawn"));
  });
}

$("more").addEventListener("click", () => showMore().catch(report));
window.addEventListener("hashchange", () => openFromHash().catch(report));
initPage(start);
