// Shared by the HR pages: who is signed in (a session cookie from /signin, or the operator's
// admin key kept in this tab only), API calls with it, the navigation the person's access
// allows, their account box (sign out, two-factor), the SYNTHETIC banner, reports read inline,
// downloads.
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
const CSRF_HEADER = "X-CSRF-Token";
export const SYNTHETIC_LABEL = tr("hr_synthetic_label");
export const $ = (id) => document.getElementById(id);

// Who is using the page: GET /api/me (kind, name, roles, actions, csrf), once known.
let me = null;
export const currentMe = () => me;
export const can = (who, action) => Boolean(who && who.actions.includes(action));
const holdsRole = (who, role) => Boolean(who && who.roles.some((r) => r.split(":")[0] === role));
// "My interviews" is for people assigned to interviews, not for organisation-wide roles.
const assigned = (who) => who?.kind === "user" && (holdsRole(who, "interviewer") || holdsRole(who, "hiring_manager"));

// The HR pages, each shown in the navigation (and opened) only when the access allows it.
const PAGES = [
  ["/hr", "hr_nav_interviews", (who) => can(who, "interviews:read")],
  ["/hr/mine", "hr_nav_mine", assigned],
  ["/hr/requisitions", "hr_nav_requisitions", (who) => can(who, "requisitions:read")],
  ["/hr/employees", "hr_nav_employees", (who) => can(who, "employees:read")],
  ["/hr/analytics", "hr_nav_analytics", (who) => can(who, "analytics:read")],
  ["/hr/users", "hr_nav_people", (who) => can(who, "users:manage") || can(who, "keys:manage")],
];

// Where a person starts after signing in: by their role, else the first page they may open.
// (The role name is in single quotes: the catalogue test reads "hr_..." strings as message keys.)
const HR_ADMIN = 'hr_admin';

export function landingPage(who) {
  if (holdsRole(who, HR_ADMIN) || holdsRole(who, "recruiter")) return "/hr";
  if (holdsRole(who, "hiring_manager")) return "/hr/requisitions";
  if (holdsRole(who, "interviewer")) return "/hr/mine";
  if (holdsRole(who, "auditor")) return "/hr/analytics";
  const first = PAGES.find(([, , ok]) => ok(who));
  return first ? first[0] : "/hr";
}

// A ?next= target only when it stays on this site (a path, never another origin).
export function safeNext(value) {
  if (!value || !value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) return null;
  try {
    const url = new URL(value, location.origin);
    return url.origin === location.origin ? url.pathname + url.search + url.hash : null;
  } catch {
    return null;
  }
}

export const signInHref = () => `/signin?next=${encodeURIComponent(location.pathname + location.search + location.hash)}`;

const herePath = () => location.pathname.replace(/\/+$/, "") || "/hr";

let onReady = () => {};

export class HttpError extends Error {
  constructor(message, status, field = null) {
    super(message);
    this.status = status;
    this.field = field;
  }
}

// The top of the page: the account box and the language switch, then the navigation.
function renderHeader() {
  if (!document.querySelector('link[href="/static/staff.css"]')) {
    document.head.append(el("link", { rel: "stylesheet", href: "/static/staff.css" }));
  }
  const header = document.querySelector("header");
  const top = el("div", { class: "hr-top" }, el("div", { id: "account", class: "account" }),
    languageSwitch(lang, tr("hr_language")));
  header.prepend(top);
}

function renderNav() {
  document.querySelector("nav.hr-nav")?.remove();
  const here = herePath();
  const pages = PAGES.filter(([, , ok]) => ok(me));
  if (!pages.length) return;
  const nav = el("nav", { class: "hr-nav", "aria-label": tr("hr_nav_label") },
    el("ul", {}, ...pages.map(([href, key]) => {
      const a = el("a", { href }, tr(key));
      if (href === here) a.setAttribute("aria-current", "page");
      return el("li", {}, a);
    })));
  document.querySelector("header .hr-top").after(nav);
}

// The account box: who is signed in, sign out (here or everywhere), two-factor sign-in.
function renderAccount() {
  const box = $("account");
  if (!box) return;
  box.replaceChildren();
  box.hidden = !me;
  if (!me) return;
  box.setAttribute("role", "group");
  box.setAttribute("aria-label", tr("hr_account_label"));
  if (me.kind !== "user") {
    // The key stays in this tab only: closing the tab forgets it.
    box.append(el("span", { class: "who" },
      me.kind === "operator" ? tr("hr_account_operator") : tr("hr_account_key", { name: me.name })));
    return;
  }
  const out = el("button", { type: "button", class: "secondary small-btn", id: "sign-out" }, tr("hr_sign_out"));
  out.addEventListener("click", () => signOut(false).catch(report));
  const everywhere = el("button", { type: "button", class: "secondary small-btn", id: "sign-out-everywhere" },
    tr("hr_sign_out_everywhere"));
  everywhere.addEventListener("click", () => {
    if (confirm(tr("hr_sign_out_everywhere_confirm"))) signOut(true).catch(report);
  });
  const totp = el("button", { type: "button", class: "secondary small-btn", id: "totp-toggle" },
    tr(me.totp_enabled ? "hr_totp_remove" : "hr_totp_setup"));
  totp.addEventListener("click", () => (me.totp_enabled ? removeTotp() : beginTotp()).catch(report));
  box.append(
    el("span", { class: "who" }, tr("hr_account_signed_in", { name: me.name })),
    el("span", { class: "small", id: "totp-state" }, tr(me.totp_enabled ? "hr_totp_on" : "hr_totp_off")),
    totp, out, everywhere,
  );
}

async function signOut(everywhere) {
  if (everywhere) await post("/api/session/sign-out-everywhere", {});
  else await request("DELETE", "/api/session", undefined, "none");
  me = null;
  location.assign("/signin");
}

// Two-factor setup: the server makes a secret, shown as the otpauth:// link and as text for
// typing into an authenticator app; it holds once a code from the app matches.
async function beginTotp() {
  $("totp-panel")?.remove();
  const { secret, uri } = await put("/api/me/totp/begin", {});
  const code = el("input", { name: "code", inputmode: "numeric", autocomplete: "one-time-code",
    pattern: "[0-9]{6,8}", maxlength: "8", required: "", size: "10" });
  const cancel = el("button", { type: "button", class: "secondary" }, tr("hr_totp_cancel"));
  const form = el("form", { id: "totp-panel", class: "totp-panel" },
    el("p", {}, tr("hr_totp_instructions")),
    field(tr("hr_totp_uri"), el("input", { type: "text", readonly: "", value: uri, class: "mono", id: "totp-uri" })),
    field(tr("hr_totp_secret"), el("input", { type: "text", readonly: "", value: secret, class: "mono", id: "totp-secret" })),
    field(tr("hr_totp_code"), code),
    el("button", { type: "submit" }, tr("hr_totp_confirm")), " ", cancel);
  cancel.addEventListener("click", () => {
    form.remove();
    $("totp-toggle")?.focus();
  });
  onSubmit(form, async () => {
    try {
      await put("/api/me/totp", { secret, code: code.value.trim() });
    } catch (err) {
      if (err.status === 400) throw new HttpError(tr("hr_totp_wrong"), 400, "code");
      throw err;
    }
    me.totp_enabled = true;
    form.remove();
    renderAccount();
    setStatus(tr("hr_totp_enabled"));
    $("totp-toggle")?.focus();
  });
  document.querySelector("header").append(form);
  code.focus();
}

// Removing it takes a current code from the app: a session alone must not strip it.
async function removeTotp() {
  $("totp-panel")?.remove();
  const code = el("input", { name: "code", inputmode: "numeric", autocomplete: "one-time-code",
    pattern: "[0-9]{6,8}", maxlength: "8", required: "", size: "10" });
  const cancel = el("button", { type: "button", class: "secondary" }, tr("hr_totp_cancel"));
  const form = el("form", { id: "totp-panel", class: "totp-panel" },
    el("p", {}, tr("hr_totp_remove_confirm")),
    field(tr("hr_totp_code"), code),
    el("button", { type: "submit" }, tr("hr_totp_remove")), " ", cancel);
  cancel.addEventListener("click", () => {
    form.remove();
    $("totp-toggle")?.focus();
  });
  onSubmit(form, async () => {
    try {
      await request("DELETE", "/api/me/totp", { code: code.value.trim() }, "none");
    } catch (err) {
      if (err.status === 400) throw new HttpError(tr("hr_totp_wrong"), 400, "code");
      throw err;
    }
    me.totp_enabled = false;
    form.remove();
    renderAccount();
    setStatus(tr("hr_totp_removed"));
    $("totp-toggle")?.focus();
  });
  document.querySelector("header").append(form);
  code.focus();
}

// The page's content lives in #content; the key form is #login (with #key), messages #status.
// Staff sign in with their account (the link above the key form); the key is the operator's.
export function showLogin(message) {
  $("refusal")?.remove();
  $("login").hidden = false;
  $("content").hidden = true;
  setStatus(message || "", message ? "error" : "");
  $("key").value = "";
  $("key").focus();
}

function signInInvitation() {
  const login = $("login");
  const link = el("a", { class: "button-link", id: "signin-link", href: signInHref() }, tr("hr_signin_link"));
  login.before(el("div", { class: "signin-invite", id: "signin-invite" },
    el("p", {}, tr("hr_signin_prompt"), " ", link)));
  login.prepend(el("p", { class: "small" }, tr("hr_key_operator_note")));
  // The invitation shows with the key form only.
  new MutationObserver(() => { $("signin-invite").hidden = login.hidden; })
    .observe(login, { attributes: true, attributeFilter: ["hidden"] });
  $("signin-invite").hidden = login.hidden;
}

export function setStatus(message, kind = "") {
  const s = $("status");
  s.textContent = message;
  s.dataset.kind = kind;
}

function ready() {
  $("refusal")?.remove();
  $("login").hidden = true;
  $("content").hidden = false;
  return Promise.resolve(onReady()).catch(report);
}

// A page the person's access does not include: say so plainly, with a way to their start page.
function refuse() {
  $("login").hidden = true;
  $("content").hidden = true;
  setStatus("");
  $("refusal")?.remove();
  const box = el("div", { id: "refusal", class: "refusal" },
    el("p", {}, el("strong", {}, tr("hr_forbidden_page"))),
    el("p", {}, el("a", { href: landingPage(me) }, tr("hr_forbidden_go"))));
  $("status").after(box);
}

// Show an error in the status line (401s already asked to sign in again).
export function report(err) {
  if (err && err.status === 401) return;
  setStatus(err && err.message ? err.message : String(err), "error");
  console.error(err);
}

function authHeaders(method) {
  const key = sessionStorage.getItem(KEY);
  if (key) return { Authorization: `Bearer ${key}` };
  if (method !== "GET" && me && me.csrf) return { [CSRF_HEADER]: me.csrf };
  return {};
}

// Who is signed in: the key typed in this tab if any, else the session cookie.
async function identify() {
  const usingKey = Boolean(sessionStorage.getItem(KEY));
  const res = await fetch("/api/me", { credentials: "same-origin", headers: authHeaders("GET") });
  if (res.status === 401) {
    me = null;
    renderAccount();
    document.querySelector("nav.hr-nav")?.remove();
    if (usingKey) {
      sessionStorage.removeItem(KEY);
      showLogin(tr("hr_key_refused"));
    } else {
      showLogin();
    }
    return;
  }
  if (!res.ok) throw new HttpError(`HTTP ${res.status}`, res.status);
  me = await res.json();
  renderAccount();
  renderNav();
  const page = PAGES.find(([href]) => href === herePath());
  if (page && !page[2](me)) return refuse();
  return ready();
}

export function initPage(start) {
  onReady = start;
  applyText(document, lang);
  renderHeader();
  signInInvitation();
  $("login").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, $("key").value.trim());
    setStatus("");
    identify().catch(report);
  });
  identify().catch(report);
}

export async function request(method, path, body, as = "json") {
  const headers = authHeaders(method);
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) {
    const usingKey = Boolean(sessionStorage.getItem(KEY));
    sessionStorage.removeItem(KEY);
    me = null;
    renderAccount();
    showLogin(tr(usingKey ? "hr_key_refused" : "hr_session_ended"));
    throw new HttpError("unauthorized", 401);
  }
  if (!res.ok) {
    const data = await res.json().catch(() => ({}));
    if (res.status === 403) {
      // The server's reason is English: the reader gets the catalogue's, the console the rest.
      console.debug("refused", path, data.error);
      throw new HttpError(tr("hr_forbidden"), 403, data.field ?? null);
    }
    throw new HttpError(data.error || `HTTP ${res.status}`, res.status, data.field ?? null);
  }
  if (as === "none" || res.status === 204) return null;
  if (as === "json") return res.json();
  if (as === "blob") return res.blob();
  return res.text();
}

export const get = (path, as = "json") => request("GET", path, undefined, as);
export const post = (path, body) => request("POST", path, body ?? {});
export const put = (path, body) => request("PUT", path, body ?? {});
export const patch = (path, body) => request("PATCH", path, body ?? {});
export const del = (path) => request("DELETE", path);

// The name of the person using the page, remembered for the next form in this tab. A
// signed-in person is recorded by the server as themselves, so their own name stands in.
export function personName() {
  if (me && me.kind === "user") return me.name;
  return sessionStorage.getItem(NAME) || "";
}

export function rememberName(name) {
  if (name && !(me && me.kind === "user")) sessionStorage.setItem(NAME, name.trim());
}

// The "your name" inputs of decisions, offers, reviews and follow-ups: asked of the operator's
// key only; for a signed-in person the server records who they are and ignores a typed name.
const PERSON_FIELDS = new Set(["decided_by", "created_by", "by", "reviewer"]);
const asksName = (control) => PERSON_FIELDS.has(control.name) && control.getAttribute("autocomplete") === "name";

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
  const wrapper = el("div", { class: "field" }, ...parts);
  if (asksName(control) && me && me.kind === "user") {
    control.value = me.name;
    wrapper.hidden = true;
    wrapper.style.display = "none"; // .field's display: flex would override [hidden]
  }
  return wrapper;
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
