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

export function fail(err) {
  console.error(err);
  const media = ["NotAllowedError", "NotFoundError", "NotReadableError", "OverconstrainedError"]
    .includes(err.name);
  const link = problemFor(err);
  if (link) return linkProblem(link);
  show(el("h1", { id: "error-title" }, say("error_title")),
    el("p", { id: "error", role: "alert" },
      media ? say("media_error", { msg: err.message || err.name }) : say("error_generic")),
    contactLine());
}

// A modal confirmation (a native <dialog>: focus stays inside, Escape cancels). Resolves true
// when confirmed. The safe choice has the focus first.
export function confirmDialog({ id, title, text, yes, no }) {
  return new Promise((resolve) => {
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
    document.body.append(dialog);
    dialog.showModal();
    noBtn.focus();
  });
}

export function clock(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// The question read aloud in the interview's language (the browser's own voices).
export function speak(text) {
  if (!("speechSynthesis" in window)) return;
  speechSynthesis.cancel();
  const u = new SpeechSynthesisUtterance(text);
  u.lang = locale() === "zh-CN" ? "zh-CN" : "en-US";
  speechSynthesis.speak(u);
}
