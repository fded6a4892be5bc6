// What every candidate page shares: the page language, one screen at a time, the confirmation
// dialog, and plain-language problems with the contact from GET /api/site.
import { el } from "/static/common.js";
import { t } from "/static/i18n.js";

export const page = {
  // Before the interview is known (a link without its token), the browser's language decides.
  lang: (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en",
  contact: null,
  app: document.getElementById("app"),
};

export const say = (key, vars) => t(page.lang, key, vars);
export const locale = () => (page.lang === "zh" ? "zh-CN" : "en");

export function setLanguage(lang, titleKey) {
  page.lang = lang === "zh" ? "zh" : "en";
  document.documentElement.lang = locale();
  document.title = `${say(titleKey)} · hirestream`;
}

// One screen at a time; its heading takes the focus so a screen reader says where the
// candidate is, and the next Tab reaches the screen's first control.
export function show(...nodes) {
  page.app.replaceChildren(...nodes);
  const target = page.app.querySelector("[autofocus]") || page.app.querySelector("h1");
  if (target) {
    if (target.tagName === "H1") target.setAttribute("tabindex", "-1");
    target.focus();
  }
}

export async function loadContact() {
  try {
    const res = await fetch("/api/site");
    if (res.ok) page.contact = (await res.json()).contact || null;
  } catch {
    // no contact known: the message names the invitation email instead
  }
}

export function contactLine() {
  return el("p", { id: "contact" },
    page.contact ? say("contact_line", { contact: page.contact }) : say("contact_none"));
}

// Why a link does not open, in plain words (the server's own message is for developers).
export function linkProblem(key) {
  show(el("h1", { id: "problem" }, say("link_title")),
    el("p", { id: "problem-text", role: "alert" }, say(key)), contactLine());
}

export function problemFor(err) {
  if (err.status === 401 || err.status === 403) return "link_bad";
  if (err.status === 404) return "link_missing";
  if (err.status === 410) return /expired/i.test(err.message) ? "link_expired" : "link_used";
  return null;
}

// A camera or microphone the browser refused, by the error's name (never its message: that
// is the browser's English).
const MEDIA_PROBLEMS = {
  NotAllowedError: "media_denied",
  SecurityError: "media_denied",
  NotFoundError: "media_missing",
  OverconstrainedError: "media_missing",
  NotReadableError: "media_busy",
  AbortError: "media_busy",
};

// A status the server answered with, as a catalogue key (the server's message is English).
function problemKey(err) {
  if (MEDIA_PROBLEMS[err.name]) return MEDIA_PROBLEMS[err.name];
  if (err.status === 429 || err.status === 503) return "error_busy";
  return "error_generic";
}

export function fail(err) {
  console.error(err);
  const link = problemFor(err);
  if (link) return linkProblem(link);
  show(el("h1", { id: "error-title" }, say("error_title")),
    el("p", { id: "error", role: "alert" }, say(problemKey(err))),
    contactLine());
}

// A modal confirmation (a native <dialog>: focus stays inside, Escape cancels). Resolves true
// when confirmed. The safe choice has the focus first.
// The promise's dismiss() closes it unanswered (null), e.g. when the interview ends meanwhile.
export function confirmDialog({ id, title, text, yes, no }) {
  let dismiss = () => {};
  const answer = new Promise((resolve) => {
    const noBtn = el("button", { type: "button", class: "secondary", id: `${id}-no`, autofocus: "" }, no);
    const yesBtn = el("button", { type: "button", id: `${id}-yes` }, yes);
    const dialog = el("dialog", { id, "aria-labelledby": `${id}-title`, "aria-describedby": `${id}-text` },
      el("h2", { id: `${id}-title` }, title), el("p", { id: `${id}-text` }, text),
      el("div", { class: "actions" }, noBtn, " ", yesBtn));
    const opener = document.activeElement;
    let answered = false;
    const close = (value) => {
      if (answered) return;
      answered = true;
      dialog.close();
      dialog.remove();
      if (opener && document.body.contains(opener)) opener.focus();
      resolve(value);
    };
    noBtn.addEventListener("click", () => close(false));
    yesBtn.addEventListener("click", () => close(true));
    dialog.addEventListener("cancel", (ev) => {
      ev.preventDefault();
      close(false);
    });
    dismiss = () => close(null);
    document.body.append(dialog);
    dialog.showModal();
    noBtn.focus();
  });
  answer.dismiss = dismiss;
  return answer;
}

export function clock(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// The question read aloud in the interview's language (the browser's own voices), only when
// asked for. onDone() runs once when the voice ended, failed or was cancelled. Returns false
// when the browser has no voices (onDone is then not called).
export function speak(text, onDone = () => {}) {
  if (!("speechSynthesis" in window)) return false;
  speechSynthesis.cancel();
  const u = new SpeechSynthesisUtterance(text);
  u.lang = locale() === "zh-CN" ? "zh-CN" : "en-US";
  let ended = false;
  const finish = () => {
    if (ended) return;
    ended = true;
    onDone();
  };
  u.onend = finish;
  u.onerror = finish;
  speechSynthesis.speak(u);
  return true;
}
