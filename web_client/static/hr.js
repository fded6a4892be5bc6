// HR list of interviews (the newest 100; real, synthetic or all); reports open inline
// (printable) or download as JSON.
import {
  $, downloadBlob, el, get, initPage, report, reportInto, setStatus, syntheticBadge,
} from "/static/hr-common.js";

const LIMIT = 100; // the server returns at most the newest 100
const CHOICES = { real: "real", synthetic: "synthetic", all: "real and synthetic" };

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
  setStatus("Loading…");
  const rows = await get(`/api/interviews?data=${data}`);
  const body = $("list").querySelector("tbody");
  body.replaceChildren(...rows.map((r) => el("tr", { "data-id": r.id, "data-synthetic": String(Boolean(r.synthetic)) },
    el("td", {}, r.candidate_name, r.synthetic ? " " : "", syntheticBadge(r.synthetic)),
    el("td", {}, r.state),
    el("td", {}, new Date(r.created_at).toLocaleString()),
    el("td", {}, r.overall == null ? "–" : String(r.overall)),
    el("td", {}, ...(r.report ? [
      el("button", { class: "link", onclick: () => openReport(r.id).catch(report) }, "Read"), " ",
      el("button", { class: "link", onclick: () => download(r.id).catch(report) }, "JSON"),
    ] : ["–"])),
  )));
  const which = CHOICES[data];
  setStatus(rows.length >= LIMIT
    ? `The newest ${LIMIT} ${which} interviews (older ones are not listed).`
    : `${rows.length} ${which} interview(s), newest first (the newest ${LIMIT} at most are listed).`);
}

$("data").addEventListener("change", () => {
  const q = new URLSearchParams(location.search);
  q.set("data", $("data").value);
  history.replaceState(null, "", `${location.pathname}?${q}`);
  list().catch(report);
});
initPage(list);
