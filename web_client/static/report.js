// The interviewer's report page (/report/{id}#token=...): the finalized report read with the
// interviewer's own link (no admin key), in the interview's language. Without a link's token
// the signed-in person's session is used (staff opening it from "My interviews"). The report
// is stored a moment after the interview ends, so a missing one is asked for again a few
// times, spaced out.
import { api, el, interviewId, jsonOrThrow, takeToken } from "/static/common.js";
import { languageSwitch, t } from "/static/i18n.js";
import { pageLanguage } from "/static/live-language.js";
import { renderReport } from "/static/report-view.js";

const id = interviewId();
const token = takeToken("interviewer");
const $ = (sel) => document.getElementById(sel);
const NOT_YET_RETRY_MS = [1000, 2000, 3000, 5000, 8000, 13000];

let lang = "en";

// With the link's token, as before; else with the session cookie (no Authorization header).
async function read(path) {
  if (token) return api(path, token);
  return jsonOrThrow(await fetch(path, { credentials: "same-origin" }));
}

function askToSignIn() {
  say("report_sign_in");
  const next = encodeURIComponent(location.pathname);
  $("report-status").append(" ", el("a", { href: `/signin?next=${next}`, id: "report-sign-in" }, tr("report_sign_in_link")));
}
const tr = (key, vars) => t(lang, key, vars);

function say(key, vars) {
  $("report-status").textContent = tr(key, vars);
  $("report-status").hidden = false;
}

function translatePage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : lang;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = tr(node.dataset.i18n);
  document.title = `${tr("report_page_title")} · hirestream`;
}

async function load(attempt = 0) {
  try {
    const report = await read(`/api/interviews/${id}/report`);
    $("report").replaceChildren(...renderReport(report, lang));
    $("report").querySelector("h1").id = "report-title";
    $("report-status").hidden = true;
  } catch (err) {
    if (err.status === 404 && attempt < NOT_YET_RETRY_MS.length) {
      say("report_preparing");
      setTimeout(() => load(attempt + 1), NOT_YET_RETRY_MS[attempt]);
    } else if (err.status === 404) {
      say("report_missing");
    } else if (!token && err.status === 401) {
      askToSignIn();
    } else if (!token && err.status === 403) {
      say("report_forbidden");
    } else if (err.status === 401 || err.status === 403) {
      say("live_link_invalid");
    } else {
      // The server's words are English: the reader gets the catalogue's, the console the rest.
      console.debug("report failed", err.status, err.message);
      say(err.status === 429 ? "report_busy" : "report_error");
    }
  }
}

async function main() {
  translatePage();
  const back = $("back");
  if (token) {
    back.href = `/live/${encodeURIComponent(id)}`; // the token stays in this tab's storage
  } else {
    back.href = "/hr/mine";
    back.dataset.i18n = "report_back_mine";
  }
  back.hidden = false;
  try {
    const info = await read(`/api/interviews/${id}`);
    lang = pageLanguage(info.requisition?.language);
  } catch {
    // The report says what is wrong, if anything; the page stays in English meanwhile.
  }
  translatePage();
  $("lang").replaceChildren(languageSwitch(lang, tr("live_language")));
  say("report_loading");
  await load();
}

main();
