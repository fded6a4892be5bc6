// The interview itself: each question with optional thinking time, then the answer with a
// visible countdown; the candidate moves on with "Done, next question". At the time limit the
// page warns and moves on only once the candidate has paused (speech records from the live
// feed) or the hard cap has passed; the last question never ends the interview while the
// candidate speaks (at the cap it asks instead). A dropped connection rejoins on its own.
import { api, el, liveSocket } from "/static/common.js";
import { connectMedia, RETRY_DELAYS_MS, sleep } from "/static/candidate-connection.js";
import { clock, confirmDialog, say, speak } from "/static/candidate-ui.js";

const TICK_MS = 250;
const WARN_AT_S = 30; // the first warning, when the answer time is longer than this
const QUIET_MS = 1500; // past the limit, this long without speech counts as a pause
// The hard cap past the time limit: half the limit, at most a minute (a 2-minute answer
// may run 60 s over, a 30-second one 15 s) — long enough to finish a sentence.
const OVERTIME_SHARE = 0.5;
const OVERTIME_MAX_S = 60;
const FEED_RETRIES = 5;
const CAPTION_LINES = 3;

export const overtimeMs = (limitS) => Math.min(limitS * OVERTIME_SHARE, OVERTIME_MAX_S) * 1000;

// Runs the questions from `startIndex` (a rejoin resumes there). Resolves "finished" after the
// candidate (or the server) finished, "closed" when it was closed without them, or
// "interrupted" when rejoining was refused (too late, or ended meanwhile).
export function runQuestions({ id, token, info, stream, startIndex, rejoining = false }) {
  return new Promise((resolve, reject) => {
    const qs = info.requisition.questions;
    const app = document.getElementById("app");

    const qnum = el("p", { class: "small", id: "qnum" });
    const recording = el("p", { id: "recording", class: "recording", "data-on": "false" },
      el("span", { class: "dot", "aria-hidden": "true" }), el("span", { class: "label" }, say("recording_off")));
    const heading = el("h1", { id: "question", tabindex: "-1" });
    const help = el("p", { id: "phase-help", class: "small" });
    const timer = el("p", { id: "timer", role: "timer", "data-phase": "thinking" });
    const warning = el("p", { id: "time-warning", role: "status" });
    const answerNow = el("button", { type: "button", id: "answer-now", class: "secondary" }, say("answer_now"));
    const replay = el("button", { type: "button", id: "replay", class: "secondary" }, say("hear_again"));
    const next = el("button", { type: "button", id: "next" }, say("next"));
    const selfView = el("video", { id: "self-view", autoplay: "", muted: "", playsinline: "", "aria-label": say("self_view") });
    const feedNote = el("p", { id: "feed-note", class: "warning", hidden: "" }, say("live_unavailable"));
    const banner = el("section", { id: "reconnecting", class: "reconnecting", hidden: "", "aria-labelledby": "reconnecting-title" },
      el("h2", { id: "reconnecting-title" }, say("reconnecting_title")), el("p", { id: "reconnecting-text", role: "alert" }));
    const finals = el("div", { id: "captions-final", "aria-live": "polite", "aria-relevant": "additions" });
    const partial = el("p", { id: "captions-partial", class: "partial" });
    const captions = info.captions
      ? el("section", { class: "captions", id: "captions", "aria-label": say("captions") },
        el("h2", {}, say("captions")), finals, partial)
      : null;

    app.replaceChildren(banner,
      el("div", { class: "interview-top" }, qnum, recording),
      heading, help, timer, warning,
      el("div", { class: "actions" }, answerNow, " ", replay, " ", next),
      feedNote,
      el("figure", { class: "self-view" }, selfView, el("figcaption", { class: "small" }, say("self_view"))),
      ...(captions ? [captions] : []));
    selfView.muted = true;
    selfView.srcObject = stream;

    let link = null; // the current media connection
    let ws = null;
    let feedOk = false;
    let feedFailures = 0;
    let index = -1;
    let phase = "thinking"; // thinking | answer | over
    let phaseEnd = 0;
    let overEnd = 0;
    let warned = false;
    let speaking = false;
    let lastVoiceAt = 0;
    let busy = false; // a question change or the finish is under way
    let asking = false; // the finish confirmation is open
    let capAsked = false;
    let pausedAt = 0; // reconnecting: the clocks stand still
    let reconnecting = false;
    let finishing = false;
    let over = false;
    const isLast = () => index === qs.length - 1;

    const setRecording = (on) => {
      recording.dataset.on = String(on);
      recording.querySelector(".label").textContent = say(on ? "recording_on" : "recording_off");
    };

    const end = (outcome) => {
      if (over) return;
      over = true;
      clearInterval(ticker);
      if (ws) ws.close();
      if (link) link.close();
      stream.getTracks().forEach((tr) => tr.stop());
      if ("speechSynthesis" in window) speechSynthesis.cancel();
      resolve(outcome);
    };
    const failHard = (err) => {
      if (over) return;
      over = true;
      clearInterval(ticker);
      if (ws) ws.close();
      if (link) link.close();
      stream.getTracks().forEach((tr) => tr.stop());
      reject(err);
    };

    const connect = async () => {
      const made = await connectMedia({
        id, token, iceServers: info.ice_servers, stream,
        onState: (state) => setRecording(state === "connected" && !reconnecting),
        onDrop: () => rejoin(),
      });
      if (link) link.close();
      link = made;
    };

    const goTo = async (i) => {
      busy = true;
      try {
        index = i;
        const q = qs[i];
        qnum.textContent = say("question", { n: i + 1, total: qs.length });
        heading.textContent = q.text;
        next.textContent = say(isLast() ? "finish" : "next");
        warning.textContent = "";
        warned = false;
        capAsked = false;
        const thinking = Number(q.thinking_s || 0);
        phase = thinking > 0 ? "thinking" : "answer";
        phaseEnd = Date.now() + (thinking > 0 ? thinking : q.time_limit_s) * 1000;
        answerNow.hidden = thinking === 0;
        help.textContent = thinking > 0 ? say("thinking_help") : "";
        help.hidden = thinking === 0;
        render();
        heading.focus();
        await api(`/api/interviews/${id}/question`, token, { index: i });
        speak(q.text);
      } finally {
        busy = false;
      }
    };

    const startAnswer = () => {
      phase = "answer";
      phaseEnd = Date.now() + qs[index].time_limit_s * 1000;
      answerNow.hidden = true;
      help.hidden = true;
      if (document.activeElement === answerNow) next.focus();
    };

    const finish = async () => {
      busy = true;
      finishing = true;
      next.disabled = true;
      warning.textContent = say("finishing");
      try {
        await api(`/api/interviews/${id}/finish`, token, {});
        end("finished");
      } catch (err) {
        failHard(err);
      }
    };

    const askFinish = async () => {
      if (asking) return;
      asking = true;
      const yes = await confirmDialog({
        id: "confirm-finish",
        title: say("finish_confirm_title"),
        text: say("finish_confirm_text"),
        yes: say("finish_confirm_yes"),
        no: say("finish_confirm_no"),
      });
      asking = false;
      if (yes && !over) await finish();
    };

    next.addEventListener("click", () => {
      if (busy || reconnecting || over) return;
      if (isLast()) askFinish();
      else goTo(index + 1).catch(failHard);
    });
    answerNow.addEventListener("click", startAnswer);
    replay.addEventListener("click", () => speak(qs[index].text));

    // Past the time limit: move on when the candidate pauses; at the cap, move on anyway,
    // except from the last question, where the candidate is asked (never finished mid-word).
    const overtime = () => {
      const quiet = feedOk && !speaking && Date.now() - lastVoiceAt >= QUIET_MS;
      const capped = Date.now() >= overEnd;
      if (!quiet && !capped) return;
      if (!isLast()) return void goTo(index + 1).catch(failHard);
      if (quiet) return void finish();
      if (!capAsked) {
        capAsked = true; // asked once; after "keep answering" the pause alone ends it
        askFinish();
      }
    };

    const render = () => {
      const left = phaseEnd - Date.now();
      timer.dataset.phase = phase;
      if (phase === "thinking") timer.textContent = `${say("thinking_left")}: ${clock(left)}`;
      else if (phase === "answer") timer.textContent = `${say("time_left")}: ${clock(left)}`;
      else timer.textContent = say("time_up");
    };

    const tick = () => {
      if (over || reconnecting || index < 0) return;
      const left = phaseEnd - Date.now();
      if (phase === "thinking" && left <= 0) startAnswer();
      else if (phase === "answer") {
        const limit = qs[index].time_limit_s;
        if (!warned && limit > WARN_AT_S && left <= WARN_AT_S * 1000 && left > 0) {
          warned = true;
          warning.textContent = say("warn_left", { n: WARN_AT_S });
        }
        if (left <= 0) {
          phase = "over";
          overEnd = Date.now() + overtimeMs(limit);
          warning.textContent = say("warn_time_up");
        }
      } else if (phase === "over" && !busy && !asking) overtime();
      render();
    };
    const ticker = setInterval(tick, TICK_MS);

    const onRecord = (rec) => {
      if (rec.type === "snapshot") {
        feedOk = true;
        feedFailures = 0;
        feedNote.hidden = true;
        if (rec.state === "interrupted") rejoin();
        return;
      }
      if (rec.type === "speech") {
        speaking = rec.state === "start";
        lastVoiceAt = Date.now();
      } else if (rec.type === "caption") {
        lastVoiceAt = Date.now(); // words arriving: the candidate is talking
        if (captions) showCaption(rec);
      } else if (rec.type === "state") {
        if (rec.state === "interrupted") rejoin();
        else if (rec.state === "finished" && !busy) end("finished");
        else if (rec.state === "abandoned") end("closed");
      }
    };
    const showCaption = (rec) => {
      if (rec.final) {
        finals.append(el("p", {}, rec.text));
        while (finals.children.length > CAPTION_LINES) finals.firstChild.remove();
        partial.textContent = "";
      } else partial.textContent = rec.text;
    };
    const openFeed = () => {
      ws = liveSocket(id, token, onRecord, (ev) => {
        if (over) return;
        feedOk = false;
        speaking = false;
        feedNote.hidden = false;
        if (ev.code === 4401 || feedFailures >= FEED_RETRIES) return;
        feedFailures += 1;
        setTimeout(() => !over && openFeed(), 1000 * 2 ** feedFailures);
      });
    };

    // A drop: the clocks stop, the place is kept, and a new peer connection rejoins the same
    // session (a few attempts with growing pauses; then a button to try again).
    async function rejoin() {
      if (reconnecting || over || finishing) return;
      reconnecting = true;
      pausedAt = Date.now();
      next.disabled = true;
      setRecording(false);
      banner.hidden = false;
      const text = banner.querySelector("p");
      banner.querySelector("button")?.remove();
      for (let n = 1; n <= RETRY_DELAYS_MS.length && !over; n++) {
        text.textContent = say("reconnecting", { n, total: RETRY_DELAYS_MS.length });
        await sleep(RETRY_DELAYS_MS[n - 1]);
        try {
          await connect();
          await api(`/api/interviews/${id}/question`, token, { index });
          const paused = Date.now() - pausedAt;
          phaseEnd += paused;
          overEnd += paused;
          reconnecting = false;
          banner.hidden = true;
          next.disabled = false;
          setRecording(link.pc.connectionState === "connected");
          return;
        } catch (err) {
          // Gone: finished meanwhile, or the time to rejoin has passed.
          if (err.status === 410 || err.status === 404) return void end("interrupted");
        }
      }
      if (over) return;
      text.textContent = say("reconnect_failed");
      const again = el("button", { type: "button", id: "reconnect-retry" }, say("reconnect_retry"));
      again.addEventListener("click", () => {
        reconnecting = false;
        rejoin();
      });
      banner.append(again);
      again.focus();
    }

    (async () => {
      app.querySelector("#qnum").textContent = say("connecting");
      try {
        await connect();
      } catch (err) {
        // Coming back too late is no broken link: the interview was interrupted.
        if (rejoining && err.status === 410) return end("interrupted");
        throw err;
      }
      openFeed();
      await goTo(startIndex);
    })().catch(failHard);
  });
}
