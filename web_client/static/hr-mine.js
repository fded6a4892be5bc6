// "My interviews" (/hr/mine): the interviews the signed-in person is assigned to (the server
// lists only those), each with its live view while it can run and its report once stored.
import { $, can, currentMe, el, get, initPage, post, report, setStatus, syntheticBadge, tr, trOr, when } from "/static/hr-common.js";

// States in which the live view still has something to show or wait for.
const WATCHABLE = new Set(["scheduled", "consented", "live", "interrupted"]);

// The live view opens with a short-lived interviewer link the server makes for this person.
async function watch(id, button) {
  button.disabled = true;
  setStatus(tr("hr_mine_opening"));
  try {
    const { url } = await post(`/api/interviews/${encodeURIComponent(id)}/live-link`, {});
    location.assign(url);
  } finally {
    button.disabled = false;
  }
}

function actions(r) {
  const me = currentMe();
  const cells = [];
  if (WATCHABLE.has(r.state) && can(me, "live:watch")) {
    const b = el("button", { type: "button", class: "small-btn watch" }, tr("hr_mine_watch"));
    b.addEventListener("click", () => watch(r.id, b).catch(report));
    cells.push(b);
  }
  if (r.report && can(me, "reports:read")) {
    cells.push(el("a", { href: `/report/${encodeURIComponent(r.id)}`, class: "report-link" }, tr("hr_mine_report")));
  }
  return cells.length ? el("div", { class: "actions" }, ...cells) : "–";
}

async function list() {
  setStatus(tr("hr_loading"));
  const rows = await get("/api/interviews?data=all");
  $("mine").querySelector("tbody").replaceChildren(...rows.map((r) => el("tr", { "data-id": r.id },
    el("td", {}, r.candidate_name, r.synthetic ? " " : "", syntheticBadge(r.synthetic)),
    el("td", {}, trOr(`hr_state_${r.state}`, r.state)),
    el("td", {}, when(r.created_at)),
    el("td", {}, actions(r)),
  )));
  $("mine").hidden = !rows.length;
  setStatus(rows.length ? tr(rows.length === 1 ? "hr_mine_count_one" : "hr_mine_count_many", { n: rows.length })
    : tr("hr_mine_none"));
}

initPage(list);
