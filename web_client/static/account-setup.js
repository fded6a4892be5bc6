// Account setup from a one-time link (/account/setup#<token>): the first HR admin (email, name
// and password) or a password reset. The token travels in the fragment, so it never reaches a
// server log; it is kept in this tab only (a reload still works) and taken out of the address
// bar. Once saved, the person is signed in and goes to their start page.
import { $, landingPage, lang, tr } from "/static/hr-common.js";
import { applyText, languageSwitch } from "/static/i18n.js";

const STORE = "hirestream:setup-token";
let purpose = null;

function takeToken() {
  const fragment = location.hash.slice(1);
  const token = new URLSearchParams(fragment).get("token") || (fragment.includes("=") ? "" : fragment);
  if (token) {
    sessionStorage.setItem(STORE, decodeURIComponent(token));
    history.replaceState(null, "", location.pathname);
  }
  return sessionStorage.getItem(STORE);
}

function say(message, kind = "") {
  $("status").textContent = message;
  $("status").dataset.kind = kind;
}

async function call(path, body) {
  const res = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return { res, data: await res.json().catch(() => ({})) };
}

// A used, expired or unknown link reads the same to the person: ask for a new one.
function linkGone() {
  sessionStorage.removeItem(STORE);
  $("setup").hidden = true;
  say(tr("hr_setup_gone"), "error");
}

async function check(token) {
  const { res, data } = await call("/api/account/setup/check", { token });
  if (res.status === 410 || res.status === 400 || res.status === 404) return linkGone();
  if (!res.ok) {
    console.debug("setup check failed", res.status, data.error);
    return say(tr("hr_setup_failed", { msg: `HTTP ${res.status}` }), "error");
  }
  purpose = data.purpose;
  const first = purpose === "first_admin";
  for (const id of ["email", "name"]) {
    $(`${id}-field`).hidden = !first;
    $(id).required = first;
  }
  let intro = tr("hr_setup_first_intro");
  if (!first) intro = data.email ? tr("hr_setup_reset_intro", { email: data.email }) : tr("hr_setup_reset_intro_plain");
  $("intro").textContent = intro;
  say("");
  $("setup").hidden = false;
  $(first ? "email" : "password").focus();
}

async function submit(ev, token) {
  ev.preventDefault();
  $("password2").removeAttribute("aria-invalid");
  if ($("password").value !== $("password2").value) {
    $("password2").setAttribute("aria-invalid", "true");
    say(tr("hr_setup_mismatch"), "error");
    $("password2").focus();
    return;
  }
  const body = { token, password: $("password").value };
  if (purpose === "first_admin") Object.assign(body, { email: $("email").value.trim(), name: $("name").value.trim() });
  $("submit").disabled = true;
  say(tr("hr_setup_busy"));
  try {
    const { res, data } = await call("/api/account/setup", body);
    if (res.ok) {
      sessionStorage.removeItem(STORE);
      // With two-factor on, the new password is set and the person signs in with their code.
      location.assign(data.sign_in ? "/signin" : landingPage(data));
      return;
    }
    if (res.status === 410) return linkGone();
    // A password the policy refuses gets the policy in this page's language.
    const msg = data.field === "password" ? tr("hr_setup_password_hint") : data.error || `HTTP ${res.status}`;
    say(tr("hr_setup_failed", { msg }), "error");
    if (data.field && $(data.field)) {
      $(data.field).setAttribute("aria-invalid", "true");
      $(data.field).focus();
    }
  } finally {
    $("submit").disabled = false;
  }
}

applyText(document, lang);
$("top").append(languageSwitch(lang, tr("hr_language")));
const token = takeToken();
if (!token) {
  say(tr("hr_setup_no_token"), "error");
} else {
  $("setup").addEventListener("submit", (ev) => submit(ev, token).catch((err) => {
    console.debug("setup failed", err);
    say(tr("hr_setup_failed", { msg: String(err.message || err) }), "error");
  }));
  check(token).catch((err) => {
    console.debug("setup check failed", err);
    say(tr("hr_setup_failed", { msg: String(err.message || err) }), "error");
  });
}
