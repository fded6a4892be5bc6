// Shared by the HR pages: the admin key (kept in this tab only), API calls with it, the top
// navigation, the SYNTHETIC banner, reports read inline, downloads.
import { el } from "/static/common.js";
import { TEXT, applyText, chosenLanguage, languageSwitch, locale, t } from "/static/i18n.js";
import { renderReport } from "/static/report-view.js";

export { el };

// The page's language (en or zh) and its text from the catalogue's HR area.
export const lang = chosenLanguage();
export const tr = (key, vars) => t(lang, key, vars);
// A catalogue entry named by a server value (a state, a decision), or the value itself.
export const trOr = (key, fallback, vars) => (key in TEXT.en ? tr(key, vars) : fallback);
const LOCALE = locale(lang);

const KEY = "hirestream:admin";
const NAME = "hirestream:hr-name";
export const SYNTHETIC_LABEL = tr("hr_synthetic_label");
export const $ = (id) => document.getElementById(id);

const PAGES = [
  ["/hr", "hr_nav_interviews"],
  ["/hr/requisitions", "hr_nav_requisitions"],
  ["/hr/employees", "hr_nav_employees"],
  ["/hr/analytics", "hr_nav_analytics"],
];

let onReady = () => {};

export class HttpError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

function renderNav() {
  const here = location.pathname.replace(/\/+$/, "") || "/hr";
  const nav = el("nav", { class: "hr-nav", "aria-label": tr("hr_nav_label") },
    el("ul", {}, ...PAGES.map(([href, key]) => {
      const a = el("a", { href }, tr(key));
      if (href === here) a.setAttribute("aria-current", "page");
      return el("li", {}, a);
    })));
  const header = document.querySelector("header");
  header.prepend(languageSwitch(lang, tr("hr_language")), nav);
}

// The page's content lives in #content; the key form is #login (with #key), messages #status.
export function showLogin(message) {
  $("login").hidden = false;
  $("content").hidden = true;
  setStatus(message || "", message ? "error" : "");
  $("key").value = "";
  $("key").focus();
}

export function setStatus(message, kind = "") {
  const s = $("status");
  s.textContent = message;
  s.dataset.kind = kind;
}

function ready() {
  $("login").hidden = true;
  $("content").hidden = false;
  return Promise.resolve(onReady()).catch(report);
}

// Show an error in the status line (401s already asked for the key again).
export function report(err) {
  if (err && err.status === 401) return;
  setStatus(err && err.message ? err.message : String(err), "error");
  console.error(err);
}

export function initPage(start) {
  onReady = start;
  applyText(document, lang);
  renderNav();
  $("login").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, $("key").value.trim());
    setStatus("");
    ready();
  });
  if (sessionStorage.getItem(KEY)) ready();
  else showLogin();
}

export async function request(method, path, body, as = "json") {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(KEY) || ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) {
    sessionStorage.removeItem(KEY);
    showLogin(tr("hr_key_refused"));
    throw new HttpError("unauthorized", 401);
  }
  if (!res.ok) {
    const data = await res.json().catch(() => ({}));
    throw new HttpError(data.error || `HTTP ${res.status}`, res.status);
  }
  if (as === "json") return res.json();
  if (as === "blob") return res.blob();
  return res.text();
}

export const get = (path, as = "json") => request("GET", path, undefined, as);
export const post = (path, body) => request("POST", path, body ?? {});
export const put = (path, body) => request("PUT", path, body ?? {});

// The name of the person using the page, remembered for the next form in this tab.
export function personName() {
  return sessionStorage.getItem(NAME) || "";
}

export function rememberName(name) {
  if (name) sessionStorage.setItem(NAME, name.trim());
}

// A prominent banner in `container` while the data shown is synthetic; removed otherwise.
export function syntheticBanner(container, synthetic, label) {
  const old = container.querySelector(":scope > .synthetic-banner");
  if (!synthetic) {
    if (old) old.remove();
    return null;
  }
  const banner = el("div", { class: "synthetic-banner", role: "note" },
    el("strong", {}, label || SYNTHETIC_LABEL));
  if (old) old.replaceWith(banner);
  else container.prepend(banner);
  return banner;
}

export function syntheticBadge(synthetic) {
  return synthetic ? el("span", { class: "badge synthetic", title: SYNTHETIC_LABEL }, tr("hr_synthetic_badge")) : "";
}

// The report, read with the key (so the interviewers' ratings come with it) and shown inside
// `target` by the same renderer as the interviewer's report page, in this page's language.
export async function reportInto(target, interviewId) {
  const report = await get(`/api/interviews/${encodeURIComponent(interviewId)}/report`);
  target.replaceChildren(...renderReport(report, lang));
  target.classList.add("report-body");
  target.hidden = false;
  return target;
}

export function downloadBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// Numbers, dates and times in the page's locale.
export function fmt(value, digits = 2) {
  if (value == null || Number.isNaN(Number(value))) return "–";
  return Number(value).toLocaleString(LOCALE, {
    minimumFractionDigits: digits, maximumFractionDigits: digits, useGrouping: false,
  });
}

export function num(value) {
  return value == null ? "–" : Number(value).toLocaleString(LOCALE);
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString(LOCALE) : "–";
}

// A calendar date (YYYY-MM-DD...) as the day it names, not shifted by the time zone.
export function day(iso) {
  return iso ? new Date(`${iso.slice(0, 10)}T00:00:00`).toLocaleDateString(LOCALE) : "–";
}

// A competency key (communication, job_knowledge) in the page's language.
export function competency(key) {
  const k = `hr_comp_${String(key).toLowerCase().replaceAll(" ", "_")}`;
  return trOr(k, String(key).replaceAll("_", " "));
}

let fieldCount = 0;

// A labelled form field: <label for> + input/select/textarea with a fresh id.
export function field(label, control, hint) {
  const id = control.id || `f${++fieldCount}`;
  control.id = id;
  const parts = [el("label", { for: id }, label), control];
  if (hint) {
    const hid = `${id}-hint`;
    control.setAttribute("aria-describedby", hid);
    parts.push(el("span", { class: "small", id: hid }, hint));
  }
  return el("div", { class: "field" }, ...parts);
}

export function select(name, options, value) {
  const s = el("select", { name });
  for (const opt of options) {
    const [v, label] = Array.isArray(opt) ? opt : [opt, opt];
    const o = el("option", { value: v }, label);
    if (v === value) o.selected = true;
    s.append(o);
  }
  return s;
}

// A table from a header list and rows of cells (strings or nodes).
export function table(headers, rows, attrs = {}) {
  return el("table", attrs,
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, ...rows.map((cells) => el("tr", {}, ...cells.map((c) => el("td", {}, c ?? "–"))))));
}

// A form's submit: every submit button disabled while it runs (a form with two, such as
// Accept and Dismiss, cannot be sent twice), the server's error shown next to the buttons.
// The handler gets the form data and the button that submitted the form.
export function onSubmit(form, handler) {
  const msg = el("p", { class: "form-error", role: "alert" });
  form.append(msg);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const buttons = [...form.querySelectorAll("button[type=submit], input[type=submit]")]
      .filter((b) => !b.disabled);
    for (const b of buttons) b.disabled = true;
    msg.textContent = "";
    try {
      await handler(new FormData(form), ev.submitter || null);
    } catch (err) {
      if (err.status !== 401) msg.textContent = err.message || String(err);
    } finally {
      for (const b of buttons) if (b.isConnected) b.disabled = false;
    }
  });
  return form;
}
