// The camera and microphone check: pickers for both, the preview, a level meter, and a clear
// pass or fail (frames arriving from the camera; the microphone above a floor while the
// candidate says something). Resolves with the stream once it passed and they continue.
import { el } from "/static/common.js";
import { say, show } from "/static/candidate-ui.js";

export const MIC_FLOOR_RMS = 0.02; // about -34 dBFS: room noise stays under it, speech goes over
const MIC_HEARD_MS = 300; // this long above the floor counts as heard
const MIC_WAIT_MS = 15_000;
const VIDEO_FRAMES = 3;
const VIDEO_WAIT_MS = 8_000;

const audioWanted = (micId) =>
  ({ echoCancellation: true, noiseSuppression: true, ...(micId ? { deviceId: { exact: micId } } : {}) });
const videoWanted = (cameraId) =>
  ({ width: 640, height: 480, frameRate: 15, ...(cameraId ? { deviceId: { exact: cameraId } } : {}) });

export async function openMedia(cameraId, micId) {
  return navigator.mediaDevices.getUserMedia({ audio: audioWanted(micId), video: videoWanted(cameraId) });
}

// Both devices; when one of them is busy (NotReadableError: another app holds it), the other
// alone, with `busy` naming the kinds that could not be opened. Other errors reject.
async function openEach(cameraId, micId) {
  try {
    return { stream: await openMedia(cameraId, micId), busy: [] };
  } catch (err) {
    if (err.name !== "NotReadableError") throw err;
  }
  const stream = new MediaStream();
  const busy = [];
  for (const [kind, wanted] of [["video", videoWanted(cameraId)], ["audio", audioWanted(micId)]]) {
    try {
      const one = await navigator.mediaDevices.getUserMedia({ [kind]: wanted });
      one.getTracks().forEach((tr) => stream.addTrack(tr));
    } catch (err) {
      if (err.name !== "NotReadableError") {
        stopMedia(stream);
        throw err;
      }
      busy.push(kind);
    }
  }
  return { stream, busy };
}

export function stopMedia(stream) {
  if (stream) stream.getTracks().forEach((tr) => tr.stop());
}

// A live level meter on `meter` (if any); onLevel(rms, ms since last) on every frame.
// Returns stop().
export function levelMeter(stream, meter, onLevel) {
  const ctx = new AudioContext();
  ctx.resume().catch(() => {});
  const analyser = ctx.createAnalyser();
  ctx.createMediaStreamSource(stream).connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  let last = performance.now();
  let running = true;
  const tick = (now) => {
    if (!running) return;
    analyser.getFloatTimeDomainData(buf);
    const rms = Math.sqrt(buf.reduce((a, x) => a + x * x, 0) / buf.length);
    if (meter) meter.value = Math.min(1, rms * 8);
    if (onLevel) onLevel(rms, now - last);
    last = now;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  return () => {
    running = false;
    ctx.close().catch(() => {});
  };
}

// Counts decoded frames of `video` until `enough`; then calls ok(). Returns stop().
function watchFrames(video, enough, ok) {
  let frames = 0;
  let running = true;
  const seen = () => {
    if (!running) return;
    frames += 1;
    if (frames >= enough) return ok();
    video.requestVideoFrameCallback(seen);
  };
  video.requestVideoFrameCallback(seen);
  return () => (running = false);
}

function picker(id, labelKey) {
  const select = el("select", { id });
  return { select, field: el("div", { class: "field" }, el("label", { for: id }, say(labelKey)), select) };
}

async function fillPickers(stream, camera, mic) {
  const devices = await navigator.mediaDevices.enumerateDevices();
  const current = (kind) => stream.getTracks().find((tr) => tr.kind === kind)?.getSettings().deviceId;
  for (const [select, kind, trackKind] of [[camera, "videoinput", "video"], [mic, "audioinput", "audio"]]) {
    const chosen = select.value; // a busy device has no track: it stays the one shown
    const list = devices.filter((d) => d.kind === kind && d.deviceId);
    select.replaceChildren(...list.map((d, i) =>
      el("option", { value: d.deviceId }, d.label || say("check_device", { n: i + 1 }))));
    const now = current(trackKind) || chosen;
    if (now && list.some((d) => d.deviceId === now)) select.value = now;
  }
}

// The check screen. `intro` is the paragraph under the heading (a welcome back says more).
export function deviceCheck({ intro } = {}) {
  return new Promise((resolve, reject) => {
    const cam = picker("camera", "check_camera");
    const mic = picker("microphone", "check_mic");
    const video = el("video", { autoplay: "", muted: "", playsinline: "", id: "preview", "aria-label": say("check_preview") });
    const meter = el("meter", { min: "0", max: "1", value: "0", id: "level", "aria-label": say("check_level") });
    const videoResult = el("li", { id: "video-result" });
    const micResult = el("li", { id: "mic-result" });
    const summary = el("p", { id: "check-summary", role: "status" });
    const retry = el("button", { type: "button", id: "check-retry", class: "secondary", hidden: "" }, say("check_retry"));
    const done = el("button", { type: "button", id: "check-done", disabled: "" }, say("continue"));
    show(el("h1", {}, say("check_title")), el("p", {}, intro || say("check_help")),
      el("div", { class: "pickers" }, cam.field, mic.field), video,
      el("p", {}, say("check_say")), meter, el("ul", { class: "check-results" }, videoResult, micResult),
      summary, el("div", { class: "actions" }, retry, " ", done));

    let stream = null;
    let stops = [];
    const stopChecks = () => {
      stops.forEach((f) => f());
      stops = [];
    };
    const mark = (node, state, key) => {
      node.dataset.state = state;
      node.textContent = say(key);
    };
    const verdict = () => {
      const states = [videoResult.dataset.state, micResult.dataset.state];
      done.disabled = !states.every((s) => s === "ok");
      retry.hidden = !states.includes("fail");
      summary.textContent = done.disabled ? "" : say("check_passed");
    };

    const waiting = () => {
      mark(videoResult, "wait", "check_video_wait");
      mark(micResult, "wait", "check_mic_wait");
      verdict();
    };
    // Checks the tracks `stream` has; a kind in `busy` has none and fails at once.
    const test = (busy) => {
      stopChecks();
      if (busy.includes("video")) mark(videoResult, "fail", "check_video_fail");
      if (busy.includes("audio")) mark(micResult, "fail", "check_mic_busy");
      verdict();
      let heard = 0;
      const videoTimer = setTimeout(() => {
        if (videoResult.dataset.state === "wait") mark(videoResult, "fail", "check_video_fail");
        verdict();
      }, VIDEO_WAIT_MS);
      const micTimer = setTimeout(() => {
        if (micResult.dataset.state === "wait") mark(micResult, "fail", "check_mic_fail");
        verdict();
      }, MIC_WAIT_MS);
      stops.push(() => clearTimeout(videoTimer), () => clearTimeout(micTimer));
      if (!busy.includes("video")) {
        stops.push(watchFrames(video, VIDEO_FRAMES, () => {
          mark(videoResult, "ok", "check_video_ok");
          verdict();
        }));
      }
      if (busy.includes("audio")) return;
      stops.push(levelMeter(stream, meter, (rms, dt) => {
        if (micResult.dataset.state === "ok") return;
        if (rms >= MIC_FLOOR_RMS) heard += dt;
        if (heard >= MIC_HEARD_MS) {
          mark(micResult, "ok", "check_mic_ok");
          verdict();
        }
      }));
    };

    // Quick picker changes overlap: only the newest opening counts, older results are closed.
    let generation = 0;
    const open = async () => {
      const mine = ++generation;
      stopChecks();
      waiting(); // a retry or another device: nothing passed or failed yet
      const opened = await openEach(cam.select.value, mic.select.value).catch((err) => {
        if (mine === generation) throw err;
        return null; // a newer opening is under way
      });
      if (opened === null) return;
      if (mine !== generation) return void stopMedia(opened.stream);
      stopMedia(stream);
      stream = opened.stream;
      video.muted = true;
      video.srcObject = stream;
      await fillPickers(stream, cam.select, mic.select);
      if (mine === generation) test(opened.busy);
    };
    const reopen = () => open().catch(reject);
    cam.select.addEventListener("change", reopen);
    mic.select.addEventListener("change", reopen);
    retry.addEventListener("click", reopen);
    done.addEventListener("click", () => {
      stopChecks();
      resolve(stream);
    });
    open().catch(reject);
  });
}
