// The candidate's interview: notice and consent, device check, questions, live captions.
import { api, el, iceGatheringDone, interviewId, liveSocket, takeToken } from "/static/common.js";
import { t } from "/static/i18n.js";

const id = interviewId();
const token = takeToken("candidate");
const app = document.getElementById("app");
const END_OF_ANSWER_MS = 4000; // quiet after the last final caption that ends an answer

let lang = "en";
let info = null;
let stream = null;
let pc = null;
let ws = null;

function show(...nodes) {
  app.replaceChildren(...nodes);
  const focus = app.querySelector("[autofocus], button, input");
  if (focus) focus.focus();
}

function fail(err) {
  show(el("h1", {}, t(lang, "error", { msg: err.message || String(err) })));
}

async function main() {
  if (!token) throw new Error("this link has no invitation token");
  info = await api(`/api/interviews/${id}?as=candidate`, token);
  lang = info.requisition.language;
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  if (info.state === "finished") return done();
  if (info.state === "scheduled") return notice();
  return deviceCheck();
}

function notice() {
  const agree = el("input", { type: "checkbox", id: "agree" });
  const go = el("button", { id: "consent", disabled: "" }, t(lang, "continue"));
  agree.addEventListener("change", () => (go.disabled = !agree.checked));
  go.addEventListener("click", async () => {
    go.disabled = true;
    try {
      await api(`/api/interviews/${id}/consent`, token, {
        accepted: true,
        notice_version: info.notice_version,
      });
      deviceCheck();
    } catch (err) {
      fail(err);
    }
  });
  const paragraphs = t(lang, "notice", { title: info.requisition.title }).map((p) => el("p", {}, p));
  if (info.affect_allowed) paragraphs.push(el("p", {}, t(lang, "affect")));
  show(
    el("h1", {}, t(lang, "notice_title")),
    ...paragraphs,
    el("p", { class: "small" }, `Notice version ${info.notice_version}`),
    el("label", { for: "agree", class: "check" }, agree, " ", t(lang, "agree")),
    go,
  );
}

async function deviceCheck() {
  const video = el("video", { autoplay: "", muted: "", playsinline: "", id: "preview" });
  const meter = el("meter", { min: "0", max: "1", value: "0", id: "level", "aria-label": "microphone level" });
  const start = el("button", { id: "start", disabled: "" }, t(lang, "start"));
  show(el("h1", {}, t(lang, "check_title")), el("p", {}, t(lang, "check_help")), video, meter, start);
  stream = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: true, noiseSuppression: true },
    video: { width: 640, height: 480, frameRate: 15 },
  });
  video.muted = true;
  video.srcObject = stream;
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  ctx.createMediaStreamSource(stream).connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  const tick = () => {
    analyser.getFloatTimeDomainData(buf);
    meter.value = Math.min(1, Math.sqrt(buf.reduce((a, x) => a + x * x, 0) / buf.length) * 8);
    if (document.body.contains(meter)) requestAnimationFrame(tick);
  };
  tick();
  start.disabled = false;
  start.addEventListener("click", () => begin().catch(fail));
}

async function begin() {
  show(el("p", { id: "status" }, t(lang, "connecting")));
  pc = new RTCPeerConnection({ iceServers: info.ice_servers });
  for (const track of stream.getTracks()) pc.addTrack(track, stream);
  await pc.setLocalDescription(await pc.createOffer());
  await iceGatheringDone(pc);
  const answer = await api(`/api/interviews/${id}/offer`, token, {
    sdp: pc.localDescription.sdp,
    type: "offer",
  });
  await pc.setRemoteDescription(answer);
  questions();
}

function questions() {
  const qs = info.requisition.questions;
  const title = el("p", { class: "small", id: "qnum" });
  const text = el("h1", { id: "question" });
  const timer = el("p", { id: "timer", role: "timer", "aria-label": t(lang, "time_left") });
  const next = el("button", { id: "next" }, t(lang, "next"));
  const finals = el("div", { id: "captions-final" });
  const partial = el("p", { id: "captions-partial", class: "partial" });
  const captions = el("section", { "aria-label": t(lang, "captions"), class: "captions", id: "captions" },
    el("h2", {}, t(lang, "captions")), finals, partial);
  show(title, text, timer, next, captions);

  let index = -1;
  let deadline = 0;
  let lastFinalAt = 0;
  let heardThisQuestion = false;
  let speaking = false;

  const goTo = async (i) => {
    if (i >= qs.length) return finish();
    index = i;
    heardThisQuestion = false;
    title.textContent = t(lang, "question", { n: i + 1, total: qs.length });
    text.textContent = qs[i].text;
    next.textContent = i + 1 < qs.length ? t(lang, "next") : t(lang, "finish");
    deadline = Date.now() + qs[i].time_limit_s * 1000;
    await api(`/api/interviews/${id}/question`, token, { index: i });
    if ("speechSynthesis" in window) {
      const u = new SpeechSynthesisUtterance(qs[i].text);
      u.lang = lang === "zh" ? "zh-CN" : "en-US";
      speechSynthesis.speak(u);
    }
  };

  next.addEventListener("click", () => goTo(index + 1).catch(fail));
  const clock = setInterval(() => {
    const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    timer.textContent = `${t(lang, "time_left")}: ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    const answered = heardThisQuestion && !speaking && Date.now() - lastFinalAt > END_OF_ANSWER_MS;
    if ((left === 0 || answered) && index >= 0) {
      heardThisQuestion = false;
      goTo(index + 1).catch(fail);
    }
  }, 250);

  ws = liveSocket(id, token, (rec) => {
    if (rec.type === "snapshot") return;
    if (rec.type === "speech") speaking = rec.state === "start";
    if (rec.type === "caption") {
      if (rec.final) {
        finals.append(el("p", {}, rec.text));
        partial.textContent = "";
        lastFinalAt = Date.now();
        heardThisQuestion = index >= 0;
      } else {
        partial.replaceChildren(el("span", {}, rec.stable), " ", el("span", { class: "unstable" },
          rec.text.slice(rec.stable.length)));
      }
    }
    if (rec.type === "ended") clearInterval(clock);
  });
  app.dataset.clock = clock;
  goTo(0).catch(fail);
}

async function finish() {
  clearInterval(Number(app.dataset.clock));
  try {
    await api(`/api/interviews/${id}/finish`, token, {});
  } finally {
    if (ws) ws.close();
    if (pc) pc.close();
    if (stream) stream.getTracks().forEach((tr) => tr.stop());
    done();
  }
}

function done() {
  show(el("h1", { id: "done" }, t(lang, "done_title")), el("p", {}, t(lang, "done")));
}

main().catch(fail);
