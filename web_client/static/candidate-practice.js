// A practice question before the real ones. It happens before any offer is sent, so nothing
// leaves the device: the self-view and the level meter are local, and the screen says so.
import { el } from "/static/common.js";
import { levelMeter } from "/static/candidate-device.js";
import { clock, say, show, speak } from "/static/candidate-ui.js";

const PRACTICE_S = 60;

export function practice(stream) {
  return new Promise((resolve) => {
    const video = el("video", { id: "practice-view", autoplay: "", muted: "", playsinline: "", "aria-label": say("self_view") });
    const meter = el("meter", { min: "0", max: "1", value: "0", id: "practice-level", "aria-label": say("check_level") });
    const timer = el("p", { id: "practice-timer", role: "timer" });
    const replay = el("button", { type: "button", id: "practice-replay", class: "secondary" }, say("hear_again"));
    const start = el("button", { type: "button", id: "start" }, say("start"));
    show(el("h1", {}, say("practice_title")),
      el("p", { id: "practice-note", class: "notice" }, say("practice_note")),
      el("p", { id: "practice-question", class: "question-text" }, say("practice_question")),
      timer, el("div", { class: "actions" }, replay, " ", start),
      el("figure", { class: "self-view" }, video, el("figcaption", { class: "small" }, say("self_view"))),
      meter);
    video.muted = true;
    video.srcObject = stream;
    const stopMeter = levelMeter(stream, meter);
    const endAt = Date.now() + PRACTICE_S * 1000;
    const tick = () => {
      timer.textContent = `${say("practice_time")}: ${clock(endAt - Date.now())}`;
    };
    tick();
    const ticker = setInterval(tick, 250);
    replay.addEventListener("click", () => speak(say("practice_question")));
    start.addEventListener("click", () => {
      clearInterval(ticker);
      stopMeter();
      if ("speechSynthesis" in window) speechSynthesis.cancel();
      resolve();
    });
  });
}
