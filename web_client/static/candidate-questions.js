// The interview itself: each question with optional thinking time, then the answer with a
// visible countdown; the candidate moves on with "Done, next question". At the time limit the
// page warns and moves on only once the candidate has paused (speech records from the live
// feed, and the microphone's own level) or the hard cap has passed; the last question never
// ends the interview without the candidate's yes (past the limit it asks, and keeps waiting).
// A dropped connection rejoins on its own, unless the interview went on in another window.
// The question is read aloud only on request, with the microphone muted meanwhile (the
// voice would otherwise be transcribed as the answer).
import { api, el, liveSocket } from "/static/common.js";
import { connectMedia, RETRY_DELAYS_MS, sleep } from "/static/candidate-connection.js";
import { levelMeter, MIC_FLOOR_RMS } from "/static/candidate-device.js";
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
// Reading a question aloud takes about this long per character at most; the microphone is
// unmuted by then even when the browser never says the voice ended.
const VOICE_MS_PER_CHAR = 250; // slow zh speech included
const VOICE_MIN_MS = 4000;

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
    let feedOk = false; // speech records are arriving (then a silence is a pause)
    let feedFailures = 0;
    let index = -1;
    let phase = "thinking"; // thinking | answer | over
    let phaseEnd = 0;
    let overEnd = 0;
    let warned = false;
    let speaking = false;
    let lastVoiceAt = 0; // the feed's last sign of speech
    let lastLoudAt = 0; // the microphone's last level above the floor (this device)
    let busy = false; // a question change or the finish is under way
    let asking = null; // the open finish confirmation
    let keptAt = 0; // when the candidate last chose "keep answering" past the limit
    let pausedAt = 0; // reconnecting: the clocks stand still
    let reconnecting = false; // the banner is up: reconnecting, or taken over elsewhere
    let attempt = null; // the reconnect attempts under way
    let elsewhere = false; // another window took the interview over: only a click takes it back
    let finishing = false;
    let over = false;
    let voice = 0; // the current read-aloud (a newer one supersedes it)
    const isLast = () => index === qs.length - 1;
    const outgoing = stream.getAudioTracks();
    const stopLevel = levelMeter(stream, null, (rms) => {
      if (rms >= MIC_FLOOR_RMS) lastLoudAt = Date.now();
    });

    const setRecording = (on) => {
      recording.dataset.on = String(on);
      recording.querySelector(".label").textContent = say(on ? "recording_on" : "recording_off");
    };

    // Reads the question aloud; the outgoing microphone is off until the voice ended.
    const stopVoice = () => {
      voice += 1;
      outgoing.forEach((tr) => (tr.enabled = true));
      if ("speechSynthesis" in window) speechSynthesis.cancel();
    };
    const hearAgain = () => {
      stopVoice();
      const mine = voice;
      const text = qs[index].text;
      const unmute = () => {
        if (mine !== voice) return; // a newer read-aloud (or none) owns the microphone now
        clearTimeout(safety);
        outgoing.forEach((tr) => (tr.enabled = true));
      };
      const safety = setTimeout(unmute, VOICE_MIN_MS + text.length * VOICE_MS_PER_CHAR);
      outgoing.forEach((tr) => (tr.enabled = false));
      if (!speak(text, unmute)) unmute();
    };

    const stopAll = () => {
      over = true;
      clearInterval(ticker);
      stopVoice();
      stopLevel();
      if (asking) asking.dismiss();
      if (ws) ws.close();
      if (link) link.close();
      stream.getTracks().forEach((tr) => tr.stop());
    };
    const end = (outcome) => {
      if (over) return;
      stopAll();
      resolve(outcome);
    };
    const failHard = (err) => {
      if (over) return;
      stopAll();
      reject(err);
    };

    const connect = async () => {
      const made = await connectMedia({
        id, token, iceServers: info.ice_servers, stream,
        onState: (state) => setRecording(state === "connected" && !reconnecting),
        onDrop: () => rejoin({ auto: true }),
      });
      if (over) return void made.close(); // ended while connecting
      if (link) link.close();
      link = made;
    };
    const connected = () => link !== null && link.pc.connectionState === "connected";

    // The server moves to question i only while the media is attached: a 409 means a drop it
    // noticed before this page did, so the page rejoins, then asks again. Nothing moves here
    // before the server agreed.
    const goTo = async (i) => {
      busy = true;
      try {
        try {
          await api(`/api/interviews/${id}/question`, token, { index: i });
        } catch (err) {
          if (err.status !== 409) throw err;
          await rejoin();
          if (over || reconnecting) return; // not back (the banner says what to do)
          await api(`/api/interviews/${id}/question`, token, { index: i });
        }
        if (over) return;
        stopVoice();
        index = i;
        const q = qs[i];
        qnum.textContent = say("question", { n: i + 1, total: qs.length });
        heading.textContent = q.text;
        next.textContent = say(isLast() ? "finish" : "next");
        warning.textContent = "";
        warned = false;
        keptAt = 0;
        const thinking = Number(q.thinking_s || 0);
        phase = thinking > 0 ? "thinking" : "answer";
        phaseEnd = Date.now() + (thinking > 0 ? thinking : q.time_limit_s) * 1000;
        answerNow.hidden = thinking === 0;
        help.textContent = thinking > 0 ? say("thinking_help") : "";
        help.hidden = thinking === 0;
        render();
        heading.focus();
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
      asking = confirmDialog({
        id: "confirm-finish",
        title: say("finish_confirm_title"),
        text: say("finish_confirm_text"),
        yes: say("finish_confirm_yes"),
        no: say("finish_confirm_no"),
      });
      const yes = await asking;
      asking = null;
      if (yes === false) keptAt = Date.now(); // null: closed by the page (a drop, the end)
      if (yes && !over) await finish();
    };

    next.addEventListener("click", () => {
      if (busy || reconnecting || over) return;
      if (isLast()) askFinish();
      else goTo(index + 1).catch(failHard);
    });
    answerNow.addEventListener("click", startAnswer);
    replay.addEventListener("click", () => {
      if (index >= 0) hearAgain();
    });

    // Past the time limit: move on when the candidate pauses (the feed says so and the
    // microphone agrees); at the cap, move on anyway. The last question only asks: at the
    // first pause or the cap, and after "keep answering" at the next pause after more words.
    // An unanswered question stays open (the server ends an abandoned interview).
    const overtime = () => {
      const now = Date.now();
      const quiet = feedOk && !speaking && now - lastVoiceAt >= QUIET_MS && now - lastLoudAt >= QUIET_MS;
      const capped = now >= overEnd;
      if (!quiet && !capped) return;
      if (!isLast()) return void goTo(index + 1).catch(failHard);
      const spokeSince = Math.max(lastVoiceAt, lastLoudAt) > keptAt;
      if (keptAt === 0 || (quiet && spokeSince)) askFinish();
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

    // The server says the interview is interrupted: rejoin at once if this page's own
    // connection is down. If it still looks fine, the record may be another window taking the
    // interview over (it is live again a moment later): only a state still interrupted then
    // is this page's own drop, not noticed here yet.
    const interrupted = async () => {
      if (!connected()) return void rejoin({ auto: true });
      await sleep(RETRY_DELAYS_MS[0]);
      if (over || reconnecting) return;
      const now = await api(`/api/interviews/${id}?as=candidate`, token).catch(() => null);
      if (now && now.state === "interrupted") rejoin({ auto: true });
    };
    const onRecord = (rec) => {
      if (rec.type === "snapshot") {
        feedOk = !rec.unavailable; // no live records from the server: no pause can be seen
        feedFailures = 0;
        feedNote.hidden = !rec.unavailable;
        if (rec.state === "interrupted") interrupted();
        return;
      }
      if (rec.type === "dropped" || (rec.type === "feed" && rec.state === "interrupted")) {
        // Records lost or held up: a silence proves nothing until speech records flow again.
        feedOk = false;
        speaking = false;
      } else if (rec.type === "speech") {
        feedOk = true;
        speaking = rec.state === "start";
        lastVoiceAt = Date.now();
      } else if (rec.type === "caption") {
        lastVoiceAt = Date.now(); // words arriving: the candidate is talking
        if (captions) showCaption(rec);
      } else if (rec.type === "state") {
        if (rec.state === "interrupted") interrupted();
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
    // session (a few attempts with growing pauses; then a button to try again). Resolves when
    // the attempts are over (back, given up, or ended). `auto`: the page noticed a drop by
    // itself; if the interview is live without this page, another window took it over, and
    // only the candidate's "Continue here" takes it back (two windows never fight over it).
    function rejoin({ auto = false } = {}) {
      if (over || finishing || (auto && elsewhere)) return Promise.resolve();
      if (!auto) elsewhere = false;
      if (!attempt) attempt = reconnect(auto).finally(() => (attempt = null));
      return attempt;
    }

    function showBanner(titleKey) {
      reconnecting = true;
      if (!pausedAt) pausedAt = Date.now();
      next.disabled = true;
      setRecording(false);
      if (asking) asking.dismiss();
      banner.hidden = false;
      banner.querySelector("h2").textContent = say(titleKey);
      banner.querySelector("button")?.remove();
      return banner.querySelector("p");
    }

    function bannerButton(id, key) {
      const button = el("button", { type: "button", id }, say(key));
      button.addEventListener("click", () => {
        button.remove();
        rejoin();
      });
      banner.append(button);
      button.focus();
    }

    async function takenOver() {
      let now;
      try {
        now = await api(`/api/interviews/${id}?as=candidate`, token);
      } catch {
        return false; // not known: try to rejoin as usual
      }
      return now.state === "live" && !connected();
    }

    async function reconnect(auto) {
      const text = showBanner("reconnecting_title");
      for (let n = 1; n <= RETRY_DELAYS_MS.length && !over; n++) {
        text.textContent = say("reconnecting", { n, total: RETRY_DELAYS_MS.length });
        await sleep(RETRY_DELAYS_MS[n - 1]);
        if (over) return;
        // Asked after the first pause, when another window's takeover has settled.
        if (auto && n === 1 && (await takenOver())) {
          if (over) return;
          if (link) link.close(); // the server closed it already; nothing more comes from it
          elsewhere = true;
          showBanner("elsewhere_title").textContent = say("elsewhere");
          bannerButton("continue-here", "elsewhere_continue");
          return;
        }
        try {
          await connect();
          if (index >= 0) await api(`/api/interviews/${id}/question`, token, { index });
          const paused = Date.now() - pausedAt;
          phaseEnd += paused;
          overEnd += paused;
          pausedAt = 0;
          reconnecting = false;
          banner.hidden = true;
          next.disabled = false;
          setRecording(connected());
          return;
        } catch (err) {
          // Gone: finished meanwhile, or the time to rejoin has passed.
          if (err.status === 410 || err.status === 404) return void end("interrupted");
        }
      }
      if (over) return;
      text.textContent = say("reconnect_failed");
      bannerButton("reconnect-retry", "reconnect_retry");
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
