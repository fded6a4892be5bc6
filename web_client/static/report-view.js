// The one renderer of a finalized report (GET /api/interviews/{id}/report, JSON): the
// interviewer's report page and HR's inline report both use it. Page content, every word of
// the page's own from the message catalogue in the interview's language; the report's values
// (names, transcript, evidence) shown as text, never as markup.
import { el } from "/static/common.js";
import { TEXT, t } from "/static/i18n.js";
import { mmss } from "/static/live-transcript.js";

const EVIDENCE_SHOWN = 8;

function value(tr, s) {
  if (!s) return el("span", {}, "–");
  if (typeof s.value !== "number") {
    const key = `report_status_${s.status}`;
    return el("em", { class: "no-value" }, key in TEXT.en ? tr(key) : s.status || "–");
  }
  return bar(s.value);
}

// One neutral accent whatever the value (a score is evidence, not a verdict by colour); the
// number beside it is what is read out.
function bar(value) {
  const v = Math.max(0, Math.min(100, Math.round(value)));
  const fill = el("span", { class: "fill" });
  fill.style.width = `${v}%`;
  return el("span", { class: "value-cell" }, el("span", { class: "bar", "aria-hidden": "true" }, fill), ` ${v}`);
}

const prettify = (key) => key.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());

function evidence(items) {
  if (!items?.length) return el("span", {}, "");
  return el("ul", { class: "ev" }, ...items.slice(0, EVIDENCE_SHOWN).map((e) =>
    el("li", {}, el("span", { class: "k" }, e.kind), " ", el("q", {}, e.text || ""), " ",
      el("span", { class: "t" }, `${mmss(e.start)}–${mmss(e.end)}`))));
}

// The interviewers' ratings of one competency (HR's view: the admin read merges them in):
// their mean, how many rated, and each rating with its note.
function human(tr, rated) {
  if (!rated) return el("td", {}, "–");
  const mean = Number(rated.mean).toFixed(1);
  const notes = (rated.ratings || []).map((x) => el("li", {},
    tr("report_human_rating", { rater: x.rater, score: x.score }), x.note ? ` – ${x.note}` : ""));
  return el("td", { class: "human" }, el("strong", {}, tr("report_human_mean", { mean, n: rated.n })),
    ...(notes.length ? [el("ul", { class: "ev" }, ...notes)] : []));
}

function competencies(tr, r) {
  const ratings = r.human_ratings; // present only in HR's (admin) read
  const cols = ["report_col_competency", "report_col_score", "report_col_confidence",
    ...(ratings ? ["report_col_human"] : []), "report_col_evidence"];
  const head = el("tr", {}, ...cols.map((k) => el("th", { scope: "col" }, tr(k))));
  // Competencies only people rated have a row too.
  const keys = [...Object.keys(r.competencies || {}),
    ...Object.keys(ratings || {}).filter((k) => !(k in (r.competencies || {})))];
  const rows = keys.map((key) => {
    const s = r.competencies?.[key];
    return el("tr", { "data-competency": key },
      el("th", { scope: "row" }, s?.label || prettify(key)),
      el("td", {}, value(tr, s)),
      el("td", { class: "num" }, typeof s?.confidence === "number" ? `${Math.round(s.confidence * 100)}%` : "–"),
      ...(ratings ? [human(tr, ratings[key])] : []),
      el("td", {}, evidence(s?.evidence)));
  });
  return el("div", { class: "table-scroll" }, el("table", { class: "report-competencies" }, el("thead", {}, head), el("tbody", {}, ...rows)));
}

function question(tr, r, q) {
  const title = q.question
    ? tr("report_question", { n: q.index + 1, text: q.question })
    : tr("report_question_extra", { n: q.index + 1 });
  const lines = (q.transcript || []).map((u) => el("p", { class: "line" },
    el("time", { datetime: `PT${Math.floor(u.start)}S` }, mmss(u.start)), " ", u.text,
    ...(u.dropped ? [" ", el("em", { class: "t" }, `(${tr("report_not_scored", { reason: u.dropped })})`)] : [])));
  const scores = Object.entries(q.scores || {}).map(([key, s]) =>
    el("tr", {}, el("th", { scope: "row" }, s.label || r.competencies?.[key]?.label || prettify(key)),
      el("td", {}, value(tr, s)), el("td", {}, evidence(s.evidence))));
  return el("section", { class: "report-question", "data-index": String(q.index) },
    el("h3", {}, title),
    ...(lines.length ? lines : [el("p", {}, el("em", {}, tr("report_no_answer")))]),
    ...(scores.length ? [el("div", { class: "table-scroll" }, el("table", {}, el("tbody", {}, ...scores)))] : []));
}

function flag(tr, f) {
  const key = `report_flag_${f.flag}`;
  const parts = [key in TEXT.en ? tr(key) : f.flag];
  if (typeof f.question === "number") parts.push(tr("report_flag_question", { n: f.question + 1 }));
  if (typeof f.start === "number") parts.push(mmss(f.start));
  if (f.detail) parts.push(f.detail);
  return el("li", { "data-flag": f.flag }, parts.join(" · "));
}

/** The report's content for `lang` ("en" or "zh"): a list of nodes to put in a container. */
export function renderReport(r, lang) {
  const tr = (key, vars) => t(lang, key, vars);
  const who = [r.candidate_name, r.requisition?.title].filter(Boolean).join(" · ");
  const generated = r.generated_at ? new Date(r.generated_at).toLocaleString(lang === "zh" ? "zh-CN" : "en-GB") : "";
  const overall = typeof r.overall === "number"
    ? bar(r.overall)
    : el("em", {}, tr("report_overall_incomplete"));
  const models = Object.entries(r.models || {}).map(([k, v]) => `${k}: ${v}`).join(", ");
  return [
    el("h1", {}, tr("report_title")),
    el("p", {}, who, generated ? ` · ${tr("report_generated", { at: generated })}` : ""),
    el("p", { class: "overall" }, el("strong", {}, `${tr("report_overall")}: `), overall),
    el("p", { class: "small" }, tr("report_decision")),
    el("h2", {}, tr("report_competencies")),
    competencies(tr, r),
    el("h2", {}, tr("report_answers")),
    ...(r.questions || []).map((q) => question(tr, r, q)),
    el("h2", {}, tr("report_flags")),
    el("ul", { class: "flags" }, ...((r.flags || []).length ? r.flags.map((f) => flag(tr, f)) : [el("li", {}, tr("report_no_flags"))])),
    ...(r.candidate_summary ? [el("h2", {}, tr("report_told")), el("p", {}, r.candidate_summary)] : []),
    el("p", { class: "small" }, tr("report_footer", { rubric: r.rubric_version || "–", version: r.report_version ?? "–", models: models || "–" })),
  ];
}
