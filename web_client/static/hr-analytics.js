// Analytics: predictive validity of the interview competencies (tables and scatter plots),
// agreement of the AI scores with the interviewers' ratings, and adverse impact of the hiring
// stages (four-fifths rule), on real, synthetic or all data.
import {
  $, downloadBlob, el, fmt, get, initPage, report, setStatus, syntheticBanner, table,
} from "/static/hr-common.js";

const STAGES = {
  interview_passed: "Interview passed (base: everyone interviewed)",
  offer: "Offer (base: those who passed the interview)",
  hire: "Hire (base: those offered)",
  overall: "Overall: hired out of everyone interviewed",
};
const DIMENSIONS = {
  sex: "Sex",
  race_ethnicity: "Race/ethnicity",
  "sex × race_ethnicity": "Sex × race/ethnicity",
};
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
  $("family").replaceChildren(el("option", { value: "" }, "All families"),
    ...families.map((f) => el("option", { value: f }, f)));
  $("family").value = families.includes(keep) ? keep : "";
}

const DATA_NAMES = { real: "Real records", synthetic: "Synthetic data", all: "Real and synthetic data" };

function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

function failed(err) {
  return el("p", { class: "form-error" }, `Could not compute this: ${err && err.message ? err.message : err}`);
}

// Both sections are computed side by side; one that fails says so in place of "Computing…",
// the other is still shown. The one-line summary (#result-summary) is what a screen reader
// announces, not the tables.
async function refresh() {
  const gen = ++generation;
  const p = params();
  history.replaceState(null, "", `${location.pathname}?${query(p)}`);
  setStatus("Computing…");
  $("result-summary").textContent = "";
  $("validity-body").replaceChildren(el("p", {}, "Computing the correlations…"));
  $("impact-body").replaceChildren(el("p", {}, "Computing the selection rates…"));
  $("agreement-body").replaceChildren(el("p", {}, "Comparing the AI with the interviewers…"));
  const [v, i, a] = await Promise.allSettled([
    get(`/api/analytics/validity?${query({ data: p.data, outcome: p.outcome })}`),
    get(`/api/analytics/adverse-impact?${query({ data: p.data, family: p.family })}`),
    get(`/api/hr/agreement?${query({ data: p.data, family: p.family })}`),
  ]);
  if (gen !== generation) return;
  const validity = v.status === "fulfilled" ? v.value : null;
  const impact = i.status === "fulfilled" ? i.value : null;
  const synthetic = Boolean((validity && validity.synthetic) || (impact && impact.synthetic));
  syntheticBanner($("content"), synthetic, (validity && validity.label) || (impact && impact.label));
  const summary = [DATA_NAMES[p.data] || p.data];
  if (validity) {
    summary.push(`predictive validity: ${plural(validity.families.length, "job family", "job families")} with ${validity.outcome} reviews`);
  } else {
    $("validity-method").textContent = "";
    $("no-real").hidden = true;
    $("validity-body").replaceChildren(failed(v.reason));
    summary.push("predictive validity could not be computed");
  }
  if (impact) {
    renderImpact(impact);
    summary.push(`adverse impact${p.family ? ` in ${p.family}` : ""}: ${plural(impact.applications, "decided application")}, ${impact.pending || 0} pending`);
  } else {
    $("impact-method").textContent = "";
    $("impact-body").replaceChildren(failed(i.reason));
    summary.push("adverse impact could not be computed");
  }
  if (a.status === "fulfilled") {
    renderAgreement(a.value);
    const flagged = a.value.competencies.filter((c) => c.disagree).length;
    summary.push(`AI and interviewers: ${plural(a.value.interviews, "rated interview")}, ${plural(flagged, "competency", "competencies")} flagged`);
  } else {
    $("agreement-method").textContent = "";
    $("agreement-body").replaceChildren(failed(a.reason));
    summary.push("agreement could not be computed");
  }
  $("result-summary").textContent = `${summary.join("; ")}.`;
  const error = [v, i, a].find((r) => r.status === "rejected");
  if (error) report(error.reason);
  if (validity) await renderValidity(validity, gen);
  if (!error && gen === generation) setStatus("");
}

function pValue(p) {
  if (p == null) return "–";
  return p < 0.001 ? "< 0.001" : fmt(p, 3);
}

function withCi(r, ci) {
  if (r == null) return "–";
  return ci ? `${fmt(r, 2)} [${fmt(ci[0], 2)}, ${fmt(ci[1], 2)}]` : fmt(r, 2);
}

async function renderValidity(v, gen) {
  for (const url of plotUrls) URL.revokeObjectURL(url);
  plotUrls = [];
  $("validity-method").textContent = `Outcome: ${v.outcome_label}. ${v.method}`;
  const body = $("validity-body");
  const none = !v.families.length;
  $("no-real").hidden = !(none && v.data === "real");
  if (none) {
    body.replaceChildren(el("p", {}, `No employees with ${v.outcome} reviews in the chosen data.`));
    return;
  }
  const jobs = [];
  body.replaceChildren(...v.families.map((f) => {
    const rows = f.competencies.map((c) => [
      c.competency.replaceAll("_", " "),
      String(c.n),
      withCi(c.pearson, c.pearson_ci),
      pValue(c.pearson_p),
      withCi(c.spearman, c.spearman_ci),
      pValue(c.spearman_p),
      c.small_n ? el("strong", { class: "flag" }, `⚠ ${c.note}`) : (c.note || "—"),
    ]);
    const plots = el("div", { class: "plots" }, ...f.competencies.map((c) => {
      const img = el("img", {
        alt: `Scatter plot: interview ${c.competency.replaceAll("_", " ")} against ${v.outcome_label}, ${f.family}`,
        class: "plot",
        "data-competency": c.competency,
      });
      jobs.push({ img, family: f.family, competency: c.competency });
      return el("figure", {}, img, el("figcaption", { class: "small" }, c.competency.replaceAll("_", " ")));
    }));
    return el("section", { class: "family", "data-family": f.family },
      el("h3", {}, `${f.family} — ${f.employees} employee(s)`),
      table(["Competency", "n", "Pearson r [95% CI]", "p", "Spearman ρ [95% CI]", "p", "Flag"], rows,
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
        job.img.replaceWith(el("p", { class: "form-error" }, `Plot unavailable: ${err.message}`));
      }
    }
  };
  await Promise.all(Array.from({ length: PLOT_CONCURRENCY }, worker));
}

function renderAgreement(r) {
  $("agreement-method").textContent = r.method;
  if (!r.competencies.length) {
    $("agreement-body").replaceChildren(el("p", {},
      `No interviews with both a report and interviewers' ratings${r.family ? ` in ${r.family}` : ""} in the chosen data.`));
    return;
  }
  const rows = r.competencies.map((c) => [
    c.label,
    String(c.n),
    c.abstained ? String(c.abstained) : "0",
    c.mean_ai == null ? "–" : fmt(c.mean_ai, 1),
    c.mean_human == null ? "–" : fmt(c.mean_human, 2),
    c.pearson == null ? "–" : fmt(c.pearson, 2),
    c.kappa == null ? "–" : fmt(c.kappa, 2),
    c.disagree ? el("strong", { class: "flag" }, `⚠ ${c.note}`) : (c.note || "agree"),
  ]);
  const t = table(["Competency", "n", "AI abstained", "Mean AI (0-100)", "Mean rating (1-5)",
    "Pearson r", "Weighted κ", "Flag"], rows, { class: "agreement-table" });
  t.prepend(el("caption", {}, `${plural(r.interviews, "rated interview")}${r.family ? ` in ${r.family}` : ""}`
    + ` · flagged when n ≥ ${r.min_n} and r < ${r.r_below} or κ < ${r.kappa_below}`));
  $("agreement-body").replaceChildren(t);
}

function groupTable(entry, minGroup) {
  const rows = entry.groups.map((g) => [
    g.group,
    String(g.applicants),
    String(g.selected),
    g.rate == null ? "–" : `${fmt(100 * g.rate, 1)}%`,
    g.impact_ratio == null ? "–" : fmt(g.impact_ratio, 2),
    g.four_fifths_flag ? el("strong", { class: "flag" }, "⚠ below 4/5") : "ok",
    g.small_sample ? el("span", { class: "small-sample" }, `small sample (< ${minGroup})`) : "",
  ]);
  const t = table(["Group", "Applicants", "Selected", "Selection rate", "Impact ratio", "Four-fifths", "Sample"],
    rows, { class: "impact-table", "data-stage": entry.stage, "data-dimension": entry.dimension });
  const hidden = entry.suppressed || { groups: 0, applicants: 0 };
  if (!entry.groups.length) {
    t.querySelector("tbody").append(el("tr", {}, el("td", { colspan: "7" },
      hidden.groups ? "Every group has fewer than 5 people: none is shown, for privacy." : "No one in this base.")));
  }
  t.prepend(el("caption", {}, `${DIMENSIONS[entry.dimension] || entry.dimension}: base ${plural(entry.base, "applicant")}`,
    ` · reference group ${entry.reference_group ?? "none"}`,
    ` · not reported ${entry.missing.not_reported ?? 0}, declined ${entry.missing.declined ?? 0}`,
    hidden.groups
      ? ` · ${plural(hidden.groups, "small group")} suppressed for privacy (fewer than 5 people each; ${plural(hidden.applicants, "applicant")} in all)`
      : ""));
  return t;
}

function renderImpact(r) {
  $("impact-method").textContent = `${r.method} Threshold ${r.threshold}, smallest reliable group ${r.min_group}.`;
  const byStage = new Map();
  for (const entry of r.stages) {
    if (!byStage.has(entry.stage)) byStage.set(entry.stage, []);
    byStage.get(entry.stage).push(entry);
  }
  const pending = r.pending || 0;
  const note = r.pending_note || "applications without a decision are left out of every base until decided";
  const scope = el("p", { id: "impact-scope" },
    `${plural(r.applications, "decided application")}${r.family ? ` in ${r.family}` : ""}, ${pending} pending. `
    + `${note.charAt(0).toUpperCase()}${note.slice(1)}.`);
  if (!r.applications && !pending) {
    $("impact-body").replaceChildren(el("p", { id: "impact-scope" },
      `No interviewed applications${r.family ? ` in ${r.family}` : ""} in the chosen data.`));
    return;
  }
  if (!r.applications) {
    scope.append(" No selection rates yet: they are computed once applications are decided.");
    $("impact-body").replaceChildren(scope);
    return;
  }
  $("impact-body").replaceChildren(scope, ...[...byStage].map(([stage, entries]) => {
    const plain = entries.filter((e) => !e.dimension.includes("×"));
    const cross = entries.filter((e) => e.dimension.includes("×"));
    return el("section", { class: "stage", "data-stage": stage },
      el("h3", {}, STAGES[stage] || stage),
      ...plain.map((e) => groupTable(e, r.min_group)),
      ...cross.map((e) => el("details", {}, el("summary", {}, DIMENSIONS[e.dimension] || e.dimension),
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
