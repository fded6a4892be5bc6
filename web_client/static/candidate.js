// The candidate's interview, step by step: notice and consent, device check, a practice
// question (local only), the questions, and what happens next. A link opened again while the
// interview can be rejoined says "Welcome back" and resumes at the same question.
import { api, el, interviewId, takeToken } from "/static/common.js";
import { deviceCheck } from "/static/candidate-device.js";
import { closed, done } from "/static/candidate-done.js";
import { practice } from "/static/candidate-practice.js";
import { runQuestions } from "/static/candidate-questions.js";
import {
  contactLine, fail, linkProblem, loadContact, page, problemFor, say, setLanguage, show,
} from "/static/candidate-ui.js";

const id = interviewId();
const token = takeToken("candidate");
let info = null;

async function main() {
  setLanguage(page.lang, "page_title");
  await loadContact();
  if (!token) return linkProblem("link_no_token");
  try {
    info = await api(`/api/interviews/${id}?as=candidate`, token);
  } catch (err) {
    const key = problemFor(err);
    if (key) return linkProblem(key);
    throw err;
  }
  setLanguage(info.requisition.language, "page_title");
  if (info.state === "finished") return done(id, token);
  if (info.state === "abandoned") return closed("abandoned");
  if (info.resumable) return welcomeBack();
  if (info.state === "interrupted") return closed("interrupted");
  if (info.state === "live") return linkProblem("link_used"); // running elsewhere, not this link
  if (info.state === "scheduled") return notice();
  return prepare(); // consented earlier: the device check again
}

function notice() {
  const agree = el("input", { type: "checkbox", id: "agree" });
  const go = el("button", { type: "button", id: "consent", disabled: "" }, say("continue"));
  agree.addEventListener("change", () => (go.disabled = !agree.checked));
  go.addEventListener("click", async () => {
    go.disabled = true;
    try {
      await api(`/api/interviews/${id}/consent`, token, {
        accepted: true,
        notice_version: info.notice_version,
      });
      await prepare();
    } catch (err) {
      fail(err); // a refused camera or microphone says what to do about it
    }
  });
  const paragraphs = say("notice", { title: info.requisition.title }).map((p) => el("p", {}, p));
  if (info.affect_allowed) paragraphs.push(el("p", {}, say("affect")));
  show(
    el("h1", {}, say("notice_title")),
    ...paragraphs,
    el("p", { class: "small", id: "notice-version" }, say("notice_version", { version: info.notice_version })),
    el("label", { for: "agree", class: "check" }, agree, " ", say("agree")),
    go,
  );
}

// First time: device check, practice (nothing sent), then the interview from question 1.
async function prepare() {
  const stream = await deviceCheck();
  await practice(stream);
  await interview(stream, 0);
}

function welcomeBack() {
  const total = info.requisition.questions.length;
  const at = Math.min(info.question_index ?? 0, total - 1);
  const intro = say("welcome_back", { n: at + 1, total });
  const go = el("button", { type: "button", id: "welcome-continue" }, say("continue"));
  go.addEventListener("click", async () => {
    try {
      const stream = await deviceCheck({ intro });
      await interview(stream, at, true);
    } catch (err) {
      fail(err);
    }
  });
  show(el("h1", { id: "welcome-back" }, say("welcome_back_title")), el("p", { id: "welcome-text" }, intro),
    contactLine(), go);
}

async function interview(stream, startIndex, rejoining = false) {
  const outcome = await runQuestions({ id, token, info, stream, startIndex, rejoining });
  if (outcome === "finished") done(id, token);
  else closed(outcome === "interrupted" ? "interrupted" : "abandoned");
}

main().catch(fail);
