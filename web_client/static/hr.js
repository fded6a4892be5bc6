// HR list of interviews; reports open inline (printable) or download as JSON.
import { $, downloadBlob, el, get, initPage, report, reportInto, setStatus } from "/static/hr-common.js";

async function openReport(id) {
  await reportInto($("report"), id);
  $("report").scrollIntoView();
}

async function download(id) {
  const body = await get(`/api/interviews/${id}/report`);
  downloadBlob(new Blob([JSON.stringify(body, null, 2)], { type: "application/json" }), `report-${id}.json`);
}

async function list() {
  const rows = await get("/api/interviews");
  const body = $("list").querySelector("tbody");
  body.replaceChildren(...rows.map((r) => el("tr", {},
    el("td", {}, r.candidate_name),
    el("td", {}, r.state),
    el("td", {}, new Date(r.created_at).toLocaleString()),
    el("td", {}, r.overall == null ? "–" : String(r.overall)),
    el("td", {}, ...(r.report ? [
      el("button", { class: "link", onclick: () => openReport(r.id).catch(report) }, "Read"), " ",
      el("button", { class: "link", onclick: () => download(r.id).catch(report) }, "JSON"),
    ] : ["–"])),
  )));
  setStatus(`${rows.length} interview(s)`);
}

initPage(list);
