// HR list of interviews (the newest 100; real, synthetic or all); reports open inline
// (printable) or download as JSON.
import {
  $, downloadBlob, el, fmt, get, initPage, report, reportInto, setStatus, syntheticBadge, tr, trOr, when,
} from "/static/hr-common.js";

const LIMIT = 100; // the server returns at most the newest 100
const CHOICES = { real: "hr_which_real", synthetic: "hr_which_synthetic", all: "hr_which_all" };

async function openReport(id) {
  await reportInto($("report"), id);
  $("report").scrollIntoView();
}

async function download(id) {
  const body = await get(`/api/interviews/${id}/report`);
  downloadBlob(new Blob([JSON.stringify(body, null, 2)], { type: "application/json" }), `report-${id}.json`);
}

function dataChoice() {
  const v = new URLSearchParams(location.search).get("data");
  return v in CHOICES ? v : "real";
}

async function list() {
  const data = dataChoice();
  $("data").value = data;
  setStatus(tr("hr_loading"));
  const rows = await get(`/api/interviews?data=${data}`);
  const body = $("list").querySelector("tbody");
  body.replaceChildren(...rows.map((r) => el("tr", { "data-id": r.id, "data-synthetic": String(Boolean(r.synthetic)) },
    el("td", {}, r.candidate_name, r.synthetic ? " " : "", syntheticBadge(r.synthetic)),
    el("td", {}, stateName(r.state)),
    el("td", {}, when(r.created_at)),
    el("td", {}, r.overall == null ? "–" : fmt(r.overall, Number.isInteger(r.overall) ? 0 : 1)),
    el("td", {}, ...(r.report ? [
      el("button", { class: "link", onclick: () => openReport(r.id).catch(report) }, tr("hr_read")), " ",
      el("button", { class: "link", onclick: () => download(r.id).catch(report) }, "JSON"),
    ] : ["–"])),
  )));
  const which = tr(CHOICES[data]);
  setStatus(rows.length >= LIMIT
    ? tr("hr_interviews_newest", { limit: LIMIT, which })
    : tr("hr_interviews_count", { n: rows.length, which, limit: LIMIT }));
}

// An interview's lifecycle state in words (an unknown one as the server names it).
function stateName(state) {
  return trOr(`hr_state_${state}`, state);
}

$("data").addEventListener("change", () => {
  const q = new URLSearchParams(location.search);
  q.set("data", $("data").value);
  history.replaceState(null, "", `${location.pathname}?${q}`);
  list().catch(report);
});
initPage(list);
