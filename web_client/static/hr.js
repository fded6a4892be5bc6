// HR list of interviews; reports open inline (printable) or download as JSON.
import { el } from "/static/common.js";

const KEY = "hirestream:admin";
const $ = (id) => document.getElementById(id);

async function get(path, as = "json") {
  const res = await fetch(path, { headers: { Authorization: `Bearer ${sessionStorage.getItem(KEY)}` } });
  if (res.status === 401) {
    sessionStorage.removeItem(KEY);
    showLogin("That key was not accepted.");
    throw new Error("unauthorized");
  }
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return as === "json" ? res.json() : res.text();
}

function showLogin(message) {
  $("login").hidden = false;
  $("list").hidden = true;
  $("status").textContent = message || "";
  $("key").focus();
}

async function openReport(id) {
  const html = await get(`/api/interviews/${id}/report?format=html`, "text");
  const doc = new DOMParser().parseFromString(html, "text/html");
  $("report").replaceChildren(...doc.querySelector("main").childNodes);
  $("report").hidden = false;
  $("report").scrollIntoView();
}

async function download(id) {
  const body = await get(`/api/interviews/${id}/report`);
  const url = URL.createObjectURL(new Blob([JSON.stringify(body, null, 2)], { type: "application/json" }));
  const a = el("a", { href: url, download: `report-${id}.json` });
  document.body.append(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(url);
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
      el("button", { class: "link", onclick: () => openReport(r.id) }, "Read"), " ",
      el("button", { class: "link", onclick: () => download(r.id) }, "JSON"),
    ] : ["–"])),
  )));
  $("login").hidden = true;
  $("list").hidden = false;
  $("status").textContent = `${rows.length} interview(s)`;
}

$("login").addEventListener("submit", (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(KEY, $("key").value);
  list().catch(() => {});
});

if (sessionStorage.getItem(KEY)) list().catch(() => {});
else showLogin();
