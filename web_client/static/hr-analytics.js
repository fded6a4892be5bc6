// Analytics: predictive validity of the interview competencies (tables and scatter plots),
// agreement of the AI scores with the interviewers' ratings, and adverse impact of the hiring
// stages (four-fifths rule), on real, synthetic or all data.
import {
  $, competency, downloadBlob, el, fmt, get, initPage, lang, num, report, setStatus, syntheticBanner,
  table, tr, trOr,
} from "/static/hr-common.js";
import { optionLabel } from "/static/i18n.js";

const stageName = (s) => trOr(`hr_stage_${s}`, s);
const DIMENSIONS = {
  sex: "hr_dim_sex",
  race_ethnicity: "hr_dim_race",
  "sex × race_ethnicity": "hr_dim_sex_race",
};
const dimensionName = (d) => (DIMENSIONS[d] ? tr(DIMENSIONS[d]) : d);
// A group is a self-identification answer (or two joined by " × "): the candidate area's
// option labels name them in each language.
const groupName = (g) => String(g).split(" × ").map((v) => optionLabel(lang, v)).join(" × ");
// The server explains its methods in English; other languages have the catalogue's text.
const serverText = (en, key, vars) => (lang === "en" ? en : tr(key, vars));
const PLOT_CONCURRENCY = 4;

let requisitions = [];
let generation = 0;
let plotUrls = [];

function params() {
  return {
    data: $("data").value,
    outcome: $("outcome").value,
    family: $("family").value,
  };
}

function query(obj) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(obj)) if (v) q.set(k, v);
  return q.toString();
}

async function start() {
  const q = new URLSearchParams(location.search);
  if (["real", "synthetic", "all"].includes(q.get("data"))) $("data").value = q.get("data");
  if (["performance", "probation"].includes(q.get("outcome"))) $("outcome").value = q.get("outcome");
  requisitions = await get("/api/requisitions");
  fillFamilies(q.get("family") || "");
  await refresh();
}

for (const id of ["data", "outcome", "family"]) {
  $(id).addEventListener("change", () => {
    if (id === "data") fillFamilies($("family").value);
    refresh().catch(report);
  });
}
$("try-synthetic").addEventListener("click", () => {
  $("data").value = "synthetic";
  fillFamilies($("family").value);
  refresh().then(() => $("validity-title").focus()).catch(report);
});
$("export-csv").addEventListener("click", () => exportImpact("csv").catch(report));
$("export-json").addEventListener("click", () => exportImpact("json").catch(report));
$("controls").addEventListener("submit", (ev) => ev.preventDefault());

function fillFamilies(keep) {
  const data = $("data").value;
  const families = [...new Set(requisitions
    .filter((r) => data === "all" || r.synthetic === (data === "synthetic"))
    .map((r) => r.family))].sort();
  $("family").replaceChildren(el("option", { value: "" }, tr("hr_an_all_families")),
    ...families.map((f) => el("option", { value: f }, f)));
  $("family").value = families.includes(keep) ? keep : "";
}

const DATA_NAMES = { real: "hr_an_data_real", synthetic: "hr_an_data_synthetic", all: "hr_an_data_all" };

// A count with its noun: the catalogue has a "_one" and an "_many" sentence for each.
function plural(n, key, vars = {}) {
  return tr(`${key}_${n === 1 ? "one" : "many"}`, { ...vars, n: num(n) });
}

function failed(err) {
  return el("p", { class: "form-error" }, tr("hr_an_failed", { msg: err && err.message ? err.message : err }));
}

function inFamily(family) {
  return family ? tr("hr_an_in_family", { family }) : "";
}

// Both sections are computed side by side; one that fails says so in place of "Computing…",
// the other is still shown. The one-line summary (#result-summary) is what a screen reader
// announces, not the tables.
async function refresh() {
  const gen = ++generation;
  const p = params();
  history.replaceState(null, "", `${location.pathname}?${query(p)}`);
  setStatus(tr("hr_an_computing"));
  $("result-summary").textContent = "";
  $("validity-body").replaceChildren(el("p", {}, tr("hr_an_computing_validity")));
  $("impact-body").replaceChildren(el("p", {}, tr("hr_an_computing_impact")));
  $("agreement-body").replaceChildren(el("p", {}, tr("hr_an_computing_agreement")));
  const [v, i, a] = await Promise.allSettled([
    get(`/api/analytics/validity?${query({ data: p.data, outcome: p.outcome })}`),
    get(`/api/analytics/adverse-impact?${query({ data: p.data, family: p.family })}`),
    get(`/api/hr/agreement?${query({ data: p.data, family: p.family })}`),
  ]);
  if (gen !== generation) return;
  const validity = v.status === "fulfilled" ? v.value : null;
  const impact = i.status === "fulfilled" ? i.value : null;
  const synthetic = Boolean((validity && validity.synthetic) || (impact && impact.synthetic));
  syntheticBanner($("content"), synthetic); // the catalogue's label: the same words as the server's, per language
  const summary = [tr(DATA_NAMES[p.data])];
  if (validity) {
    summary.push(tr("hr_an_sum_validity", {
      families: plural(validity.families.length, "hr_an_families"), outcome: tr(`hr_an_outcome_${validity.outcome}`),
    }));
  } else {
    $("validity-method").textContent = "";
    $("no-real").hidden = true;
    $("validity-body").replaceChildren(failed(v.reason));
    summary.push(tr("hr_an_sum_validity_failed"));
  }
  if (impact) {
    renderImpact(impact);
    summary.push(tr("hr_an_sum_impact", {
      family: inFamily(p.family), decided: plural(impact.applications, "hr_an_decided"), pending: num(impact.pending || 0),
    }));
  } else {
    $("impact-method").textContent = "";
    $("impact-body").replaceChildren(failed(i.reason));
    summary.push(tr("hr_an_sum_impact_failed"));
  }
  if (a.status === "fulfilled") {
    renderAgreement(a.value);
    const flagged = a.value.competencies.filter((c) => c.disagree).length;
    summary.push(tr("hr_an_sum_agreement", {
      rated: plural(a.value.interviews, "hr_an_rated"), flagged: plural(flagged, "hr_an_flagged"),
    }));
  } else {
    $("agreement-method").textContent = "";
    $("agreement-body").replaceChildren(failed(a.reason));
    summary.push(tr("hr_an_sum_agreement_failed"));
  }
  $("result-summary").textContent = tr("hr_an_summary", { parts: summary.join(tr("hr_an_sep")) });
  const error = [v, i, a].find((r) => r.status === "rejected");
  if (error) report(error.reason);
  if (validity) await renderValidity(validity, gen);
  if (!error && gen === generation) setStatus("");
}

function pValue(p) {
  if (p == null) return "–";
  return p < 0.001 ? `< ${fmt(0.001, 3)}` : fmt(p, 3);
}

function withCi(r, ci) {
  if (r == null) return "–";
  return ci ? `${fmt(r, 2)} [${fmt(ci[0], 2)}, ${fmt(ci[1], 2)}]` : fmt(r, 2);
}

async function renderValidity(v, gen) {
  for (const url of plotUrls) URL.revokeObjectURL(url);
  plotUrls = [];
  const outcomeLabel = serverText(v.outcome_label, `hr_an_outcome_label_${v.outcome}`);
  $("validity-method").textContent = tr("hr_an_validity_method", {
    outcome: outcomeLabel, method: serverText(v.method, "hr_an_validity_method_text", { min_n: v.min_n ?? 10 }),
  });
  const body = $("validity-body");
  const none = !v.families.length;
  $("no-real").hidden = !(none && v.data === "real");
  if (none) {
    body.replaceChildren(el("p", {}, tr("hr_an_validity_none", { outcome: tr(`hr_an_outcome_${v.outcome}`) })));
    return;
  }
  const jobs = [];
  body.replaceChildren(...v.families.map((f) => {
    const rows = f.competencies.map((c) => [
      competency(c.competency),
      num(c.n),
      withCi(c.pearson, c.pearson_ci),
      pValue(c.pearson_p),
      withCi(c.spearman, c.spearman_ci),
      pValue(c.spearman_p),
      c.small_n ? el("strong", { class: "flag" }, `⚠ ${validityNote(c, v.min_n)}`) : (c.note ? validityNote(c, v.min_n) : "—"),
    ]);
    const plots = el("div", { class: "plots" }, ...f.competencies.map((c) => {
      const img = el("img", {
        alt: tr("hr_an_plot_alt", { competency: competency(c.competency), outcome: outcomeLabel, family: f.family }),
        class: "plot",
        "data-competency": c.competency,
      });
      jobs.push({ img, family: f.family, competency: c.competency });
      return el("figure", {}, img, el("figcaption", { class: "small" }, competency(c.competency)));
    }));
    return el("section", { class: "family", "data-family": f.family },
      el("h3", {}, tr("hr_an_family_head", { family: f.family, n: num(f.employees) })),
      table([tr("hr_col_competency"), "n", tr("hr_an_col_pearson"), "p", tr("hr_an_col_spearman"), "p", tr("hr_an_col_flag")], rows,
        { class: "validity-table" }),
      plots);
  }));
  await loadPlots(jobs, v, gen);
}

// The plot endpoint needs the key, which an <img src> cannot send: fetch the SVG, then show
// it through a Blob URL (an SVG in an <img> runs no script).
async function loadPlots(jobs, v, gen) {
  const queue = jobs.slice();
  const worker = async () => {
    while (queue.length && gen === generation) {
      const job = queue.shift();
      const q = query({ data: v.data, outcome: v.outcome, family: job.family, competency: job.competency });
      try {
        const svg = await get(`/api/analytics/validity/plot?${q}`, "text");
        if (gen !== generation) return;
        const url = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
        plotUrls.push(url);
        job.img.src = url;
      } catch (err) {
        job.img.replaceWith(el("p", { class: "form-error" }, tr("hr_an_plot_failed", { msg: err.message })));
      }
    }
  };
  await Promise.all(Array.from({ length: PLOT_CONCURRENCY }, worker));
}

function renderAgreement(r) {
  $("agreement-method").textContent = serverText(r.method, "hr_an_agreement_method",
    { min_n: r.min_n, r: fmt(r.r_below, 2), kappa: fmt(r.kappa_below, 2) });
  if (!r.competencies.length) {
    $("agreement-body").replaceChildren(el("p", {}, tr("hr_an_agreement_none", { family: inFamily(r.family) })));
    return;
  }
  const rows = r.competencies.map((c) => [
    lang === "en" ? c.label : competency(c.competency),
    num(c.n),
    num(c.abstained || 0),
    c.mean_ai == null ? "–" : fmt(c.mean_ai, 1),
    c.mean_human == null ? "–" : fmt(c.mean_human, 2),
    c.pearson == null ? "–" : fmt(c.pearson, 2),
    c.kappa == null ? "–" : fmt(c.kappa, 2),
    c.disagree ? el("strong", { class: "flag" }, `⚠ ${agreementNote(c, r)}`) : (c.note ? agreementNote(c, r) : tr("hr_an_agree")),
  ]);
  const t = table([tr("hr_col_competency"), "n", tr("hr_an_col_abstained"), tr("hr_an_col_mean_ai"), tr("hr_an_col_mean_rating"),
    tr("hr_an_col_r"), tr("hr_an_col_kappa"), tr("hr_an_col_flag")], rows, { class: "agreement-table" });
  t.prepend(el("caption", {}, plural(r.interviews, "hr_an_rated"), inFamily(r.family),
    ` · ${tr("hr_an_flag_rule", { min_n: r.min_n, r: r.r_below, kappa: r.kappa_below })}`));
  $("agreement-body").replaceChildren(t);
}

// Why a correlation is thin or missing (the server's English note), from the numbers.
function validityNote(c, minN) {
  if (lang === "en") return c.note;
  const notes = [];
  if (c.small_n) notes.push(tr("hr_an_small_n", { n: num(c.n), min_n: minN }));
  if (c.n >= 3 && c.pearson == null) notes.push(tr("hr_an_note_no_variation"));
  else if (c.n < 3 && !c.small_n) notes.push(tr("hr_an_note_pairs", { n: num(c.n) }));
  return notes.length ? notes.join(tr("hr_an_sep")) : tr("hr_an_note_other");
}

// The server's note for a competency, said again in the page's language from the numbers.
function agreementNote(c, r) {
  if (lang === "en") return c.note;
  if (c.n === 0 && c.note.startsWith("rated by interviewers only")) return tr("hr_an_note_interviewer_only");
  if (c.n < r.min_n) return tr("hr_an_note_few", { min_n: r.min_n });
  if (c.pearson == null || c.kappa == null) return tr("hr_an_note_flat");
  if (c.disagree) return tr("hr_an_note_disagree");
  return tr("hr_an_note_other");
}

function groupTable(entry, minGroup) {
  const rows = entry.groups.map((g) => [
    groupName(g.group),
    num(g.applicants),
    num(g.selected),
    g.rate == null ? "–" : `${fmt(100 * g.rate, 1)}%`,
    g.impact_ratio == null ? "–" : fmt(g.impact_ratio, 2),
    g.four_fifths_flag ? el("strong", { class: "flag" }, `⚠ ${tr("hr_an_below_45")}`) : tr("hr_an_ok"),
    g.small_sample ? el("span", { class: "small-sample" }, tr("hr_an_small_sample", { n: minGroup })) : "",
  ]);
  const t = table([tr("hr_an_col_group"), tr("hr_an_col_applicants"), tr("hr_an_col_selected"), tr("hr_an_col_rate"),
    tr("hr_an_col_ratio"), tr("hr_an_col_four_fifths"), tr("hr_an_col_sample")],
    rows, { class: "impact-table", "data-stage": entry.stage, "data-dimension": entry.dimension });
  const hidden = entry.suppressed || { groups: 0, applicants: 0 };
  if (!entry.groups.length) {
    t.querySelector("tbody").append(el("tr", {}, el("td", { colspan: "7" },
      hidden.groups ? tr("hr_an_all_suppressed", { n: minGroup }) : tr("hr_an_empty_base"))));
  }
  t.prepend(el("caption", {}, tr("hr_an_caption_base", { dimension: dimensionName(entry.dimension), base: plural(entry.base, "hr_an_applicants") }),
    ` · ${tr("hr_an_reference", { group: entry.reference_group == null ? tr("hr_an_none") : groupName(entry.reference_group) })}`,
    ` · ${tr("hr_an_missing", { not_reported: num(entry.missing.not_reported ?? 0), declined: num(entry.missing.declined ?? 0) })}`,
    hidden.groups
      ? ` · ${tr("hr_an_suppressed", { groups: plural(hidden.groups, "hr_an_small_groups"), applicants: plural(hidden.applicants, "hr_an_applicants"), n: minGroup })}`
      : ""));
  return t;
}

function renderImpact(r) {
  $("impact-method").textContent = `${serverText(r.method, "hr_an_impact_method", { threshold: r.threshold, min_group: r.min_group })} ${
    tr("hr_an_threshold", { threshold: r.threshold, min_group: r.min_group })}`;
  const byStage = new Map();
  for (const entry of r.stages) {
    if (!byStage.has(entry.stage)) byStage.set(entry.stage, []);
    byStage.get(entry.stage).push(entry);
  }
  const pending = r.pending || 0;
  const note = serverText(r.pending_note || "applications without a decision are left out of every base until decided",
    "hr_an_pending_note");
  const scope = el("p", { id: "impact-scope" },
    tr("hr_an_scope", { decided: plural(r.applications, "hr_an_decided"), family: inFamily(r.family), pending: num(pending) }),
    " ", `${note.charAt(0).toUpperCase()}${note.slice(1)}${lang === "en" ? "." : ""}`);
  if (!r.applications && !pending) {
    $("impact-body").replaceChildren(el("p", { id: "impact-scope" }, tr("hr_an_impact_none", { family: inFamily(r.family) })));
    return;
  }
  if (!r.applications) {
    scope.append(" ", tr("hr_an_no_rates"));
    $("impact-body").replaceChildren(scope);
    return;
  }
  $("impact-body").replaceChildren(scope, ...[...byStage].map(([stage, entries]) => {
    const plain = entries.filter((e) => !e.dimension.includes("×"));
    const cross = entries.filter((e) => e.dimension.includes("×"));
    return el("section", { class: "stage", "data-stage": stage },
      el("h3", {}, stageName(stage)),
      ...plain.map((e) => groupTable(e, r.min_group)),
      ...cross.map((e) => el("details", {}, el("summary", {}, dimensionName(e.dimension)),
        groupTable(e, r.min_group))));
  }));
}

async function exportImpact(format) {
  const p = params();
  const q = query({ data: p.data, family: p.family });
  const stem = `adverse-impact-${p.data}${p.family ? `-${p.family}` : ""}`;
  if (format === "csv") {
    const blob = await get(`/api/analytics/adverse-impact?${q}&format=csv`, "blob");
    downloadBlob(blob, `${stem}.csv`);
  } else {
    const body = await get(`/api/analytics/adverse-impact?${q}`);
    downloadBlob(new Blob([JSON.stringify(body, null, 2)], { type: "application/json" }), `${stem}.json`);
  }
}

initPage(start);
