// Staff sign-in (/signin): email and password, the authenticator code when the server asks
// for it, or single sign-on when it is set up; then the ?next= page (same site only) or the
// person's start page. Errors go to the status line in the page's language.
import { $, el, landingPage, lang, safeNext, tr } from "/static/hr-common.js";
import { applyText, languageSwitch } from "/static/i18n.js";

const params = new URLSearchParams(location.search);
const next = safeNext(params.get("next"));
const destination = (me) => next || landingPage(me);

function say(message, kind = "") {
  $("status").textContent = message;
  $("status").dataset.kind = kind;
}

async function json(method, path, body) {
  const res = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  return { res, data };
}

// Single sign-on comes back to this page (from=sso), which then sends the person on.
async function offerSso() {
  const { res, data } = await json("GET", "/api/sso");
  if (!res.ok || !data.enabled) return;
  const back = `/signin?${new URLSearchParams({ ...(next ? { next } : {}), from: "sso" })}`;
  $("sso-link").href = `/api/sso/login?${new URLSearchParams({ next: back })}`;
  $("sso").hidden = false;
}

async function signedInAlready() {
  const { res, data } = await json("GET", "/api/me");
  if (!res.ok || data.kind !== "user") return;
  if (params.get("from") === "sso") {
    location.replace(destination(data));
    return;
  }
  $("already").replaceChildren(tr("hr_signin_already", { name: data.name }), " ",
    el("a", { href: destination(data), id: "continue" }, tr("hr_signin_continue")));
  $("already").hidden = false;
}

function askForCode(message) {
  const field = $("code-field");
  const first = field.hidden;
  field.hidden = false;
  $("code").required = true;
  $("code").value = "";
  $("code").setAttribute("aria-invalid", String(!first));
  say(message || tr(first ? "hr_signin_code_needed" : "hr_signin_code_wrong"), first ? "" : "error");
  $("code").focus();
}

async function submit(ev) {
  ev.preventDefault();
  const body = { email: $("email").value.trim(), password: $("password").value };
  if (!$("code-field").hidden) body.code = $("code").value.trim();
  $("submit").disabled = true;
  say(tr("hr_signin_busy"));
  try {
    const { res, data } = await json("POST", "/api/session", body);
    if (res.ok) {
      location.assign(destination(data));
      return;
    }
    for (const id of ["email", "password"]) $(id).removeAttribute("aria-invalid");
    if (res.status === 401 && data.field === "code") {
      askForCode();
    } else if (res.status === 401) {
      say(tr("hr_signin_wrong"), "error");
      $("password").value = "";
      $("password").setAttribute("aria-invalid", "true");
      $("password").focus();
    } else if (res.status === 429) {
      const seconds = Number(res.headers.get("Retry-After"));
      say(seconds > 0 ? tr("hr_signin_locked", { minutes: Math.ceil(seconds / 60) })
        : tr("hr_signin_locked_later"), "error");
    } else if (res.status === 403) {
      say(tr("hr_signin_disabled"), "error");
    } else {
      // The server's words are English: the reader gets the catalogue's, the console the rest.
      console.debug("sign-in failed", res.status, data.error);
      say(tr("hr_signin_failed", { status: res.status }), "error");
    }
  } catch (err) {
    console.debug("sign-in failed", err);
    say(tr("hr_signin_failed", { status: "–" }), "error");
  } finally {
    $("submit").disabled = false;
  }
}

// Single sign-on that failed comes back with the server's reason (English): the reader gets
// the catalogue's sentence, with the reason beside it for whoever helps them.
function ssoFailed(reason) {
  say(tr("hr_signin_sso_failed"), "error");
  $("status").append(" ", el("span", { class: "small", id: "sso-reason" }, reason.slice(0, 300)));
  history.replaceState(null, "", location.pathname + (next ? `?${new URLSearchParams({ next })}` : ""));
}

applyText(document, lang);
$("top").append(languageSwitch(lang, tr("hr_language")));
$("signin").addEventListener("submit", submit);
$("email").focus();
if (params.get("sso_error")) ssoFailed(params.get("sso_error"));
offerSso().catch((err) => console.debug("no single sign-on", err));
signedInAlready().catch((err) => console.debug("not signed in", err));
