// The candidate's interview: notice and consent, device check, questions, live captions.
import { api, el, iceGatheringDone, interviewId, liveSocket, takeToken } from "/static/common.js";
import { optionLabel, t } from "/static/i18n.js";

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
  const msg = err.message || String(err);
  // A refused camera or microphone (or none at all) says what to do about it.
  const media = err.name === "NotAllowedError" || err.name === "NotFoundError" || err.name === "NotReadableError";
  show(el("h1", { id: "error", role: "alert" }, t(lang, media ? "media_error" : "error", { msg })));
}

async function main() {
  if (!token) throw new Error("this link has no invitation token");
  info = await api(`/api/interviews/${id}?as=candidate`, token);
  lang = info.requisition.language;
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  if (info.state === "finished") return done();
  if (info.state === "interrupted") return closed("interrupted");
  if (info.state === "abandoned") return closed("abandoned");
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
      await deviceCheck(); // a refused camera or microphone lands in fail() below
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

// An interview whose live session the server lost, or one that was closed without a report:
// say where it stands instead of offering a camera check that cannot lead anywhere.
function closed(state) {
  const title = state === "interrupted" ? "interrupted_title" : "done_title";
  show(el("h1", { id: "closed" }, t(lang, title)), el("p", { id: "closed-text" }, t(lang, state)));
}

function done() {
  const after = el("div", { id: "after-interview" });
  // The closing line waits for what follows: "you can close this page" is not said above an
  // offer that is waiting for an answer.
  const closing = el("p", { id: "done-text" }, t(lang, "done"));
  show(el("h1", { id: "done" }, t(lang, "done_title")), closing, after);
  afterInterview(after, closing).catch((err) => after.append(el("p", { class: "form-error", role: "alert" },
    t(lang, "offer_load_error", { msg: err.message || String(err) }))));
}

function closingLine(node, offer) {
  const waiting = offer && offer.state === "sent";
  node.textContent = t(lang, waiting ? "done_offer_waiting" : "done_closable");
}

// After the interview: the job offer, if one was made, and the voluntary self-identification,
// which is asked only before the first decision on the application (the server says whether
// it is still open; after a decision an answer could depend on the outcome).
async function afterInterview(box, closing) {
  let offer = null;
  try {
    offer = await api(`/api/interviews/${id}/job-offer?as=candidate`, token);
  } catch (err) {
    if (err.status !== 404) throw err; // 404: no offer, the finish screen stays as it is
  }
  closingLine(closing, offer);
  if (offer) {
    const view = offerView(offer, closing);
    box.append(view);
    view.querySelector("#offer-title").focus();
  }
  let ask;
  if (offer) ask = offer.self_id_open === true && !offer.self_id_answered;
  else {
    const status = await api(`/api/interviews/${id}/self-id`, token);
    ask = status.open === true && !status.answered;
  }
  if (!ask) return;
  let options;
  try {
    options = await api("/api/self-id/options", token);
  } catch {
    return; // the options are static; without them the optional form is simply left out
  }
  box.append(selfIdForm(options));
}

const locale = () => (lang === "zh" ? "zh-CN" : "en");

function money(value, currency) {
  try {
    return new Intl.NumberFormat(locale(), { style: "currency", currency, maximumFractionDigits: 0 }).format(value);
  } catch {
    return `${value} ${currency}`;
  }
}

function fingerprint(offer) {
  return el("p", { class: "small", id: "offer-fingerprint" },
    t(lang, "offer_fingerprint", { sha: offer.text_sha256.slice(0, 12) }));
}

// The offer; `closing` is the finish screen's closing line, updated once the offer is answered.
function offerView(offer, closing) {
  const section = el("section", { id: "offer", "aria-labelledby": "offer-title" });
  const heading = (key) => el("h2", { id: "offer-title", tabindex: "-1" }, t(lang, key));
  const at = (iso) => (iso ? new Date(iso).toLocaleString(locale()) : "");
  if (offer.state === "accepted") {
    section.append(heading("offer_accepted_title"),
      el("p", { id: "offer-accepted" }, t(lang, "offer_accepted", { time: at(offer.answered_at), name: offer.accepted_name || "" })),
      fingerprint(offer));
    return section;
  }
  if (offer.state === "declined") {
    section.append(heading("offer_declined_title"),
      el("p", { id: "offer-declined" }, t(lang, "offer_declined", { time: at(offer.answered_at) })));
    return section;
  }
  if (offer.state === "withdrawn") {
    section.append(heading("offer_title"),
      el("p", { id: "offer-withdrawn" }, t(lang, "offer_withdrawn")));
    return section;
  }
  const name = el("input", { id: "typed-name", type: "text", autocomplete: "name", required: "",
    maxlength: "200", "aria-describedby": "typed-name-help" });
  const accept = el("button", { id: "accept-offer", type: "submit" }, t(lang, "offer_accept"));
  const decline = el("button", { id: "decline-offer", type: "button", class: "secondary" }, t(lang, "offer_decline"));
  const errorBox = el("p", { id: "offer-error", class: "form-error", role: "alert" });
  const form = el("form", { id: "offer-form" },
    el("label", { for: "typed-name" }, t(lang, "offer_type_name")),
    el("p", { class: "small", id: "typed-name-help" }, t(lang, "offer_type_help", { name: offer.candidate_name })),
    name, el("div", {}, accept, " ", decline), errorBox);
  const answer = async (acceptIt) => {
    errorBox.textContent = "";
    accept.disabled = decline.disabled = true;
    try {
      const out = await api(`/api/interviews/${id}/job-offer/answer`, token, {
        accept: acceptIt,
        typed_name: acceptIt ? name.value : "",
        text_sha256: offer.text_sha256,
      });
      const answered = { ...offer, ...out };
      const next = offerView(answered, closing);
      section.replaceWith(next);
      if (closing) closingLine(closing, answered);
      next.querySelector("#offer-title").focus();
    } catch (err) {
      const msg = err.message || String(err);
      const key = err.status === 409 ? "offer_conflict"
        : err.status === 400 && acceptIt ? "offer_wrong_name" : "offer_error";
      errorBox.textContent = t(lang, key, { msg });
      accept.disabled = decline.disabled = false;
      if (err.status === 400) name.focus();
    }
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!name.value.trim()) {
      errorBox.textContent = t(lang, "offer_name_needed");
      name.focus();
      return;
    }
    answer(true);
  });
  decline.addEventListener("click", () => {
    if (confirm(t(lang, "offer_decline_confirm"))) answer(false);
  });
  section.append(
    heading("offer_title"),
    el("pre", { class: "offer-text", id: "offer-text" }, offer.text),
    el("dl", { class: "offer-facts" },
      el("dt", {}, t(lang, "offer_salary")), el("dd", {}, money(offer.salary, offer.currency)),
      el("dt", {}, t(lang, "offer_start")),
      el("dd", {}, new Date(`${offer.start_date}T00:00:00`).toLocaleDateString(locale())),
      el("dt", {}, t(lang, "offer_probation")), el("dd", {}, t(lang, "offer_months", { n: offer.probation_months }))),
    fingerprint(offer),
    form);
  return section;
}

function selfIdForm(options) {
  const choice = (field, labelKey) => {
    const sel = el("select", { id: `selfid-${field}`, name: field },
      el("option", { value: "" }, t(lang, "selfid_skip_option")),
      ...options[field].map((v) => el("option", { value: v }, optionLabel(lang, v))));
    return el("div", { class: "field" }, el("label", { for: sel.id }, t(lang, labelKey)), sel);
  };
  const errorBox = el("p", { class: "form-error", role: "alert" });
  const skip = el("button", { type: "button", id: "selfid-skip", class: "secondary" }, t(lang, "selfid_skip"));
  const form = el("form", { id: "selfid-form" },
    choice("sex", "selfid_sex"),
    choice("race_ethnicity", "selfid_race"),
    el("div", {}, el("button", { type: "submit", id: "selfid-submit" }, t(lang, "selfid_submit")), " ", skip),
    errorBox);
  const section = el("section", { id: "self-id", "aria-labelledby": "selfid-title", class: "voluntary" },
    el("h2", { id: "selfid-title" }, t(lang, "selfid_title")),
    el("p", { id: "selfid-why" }, t(lang, "selfid_why")),
    form);
  const finish = (key) => {
    section.replaceChildren(el("h2", { id: "selfid-title", tabindex: "-1" }, t(lang, "selfid_title")),
      el("p", { id: "selfid-done" }, t(lang, key)));
    section.querySelector("h2").focus();
  };
  skip.addEventListener("click", () => finish("selfid_skipped"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const sex = data.get("sex") || null;
    const race = data.get("race_ethnicity") || null;
    if (sex === null && race === null) return finish("selfid_skipped");
    errorBox.textContent = "";
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => (b.disabled = true));
    try {
      await api(`/api/interviews/${id}/self-id`, token, { sex, race_ethnicity: race });
      finish("selfid_thanks");
    } catch (err) {
      // 409: a decision was made meanwhile, so the questions are closed (nothing was stored)
      if (err.status === 409) return finish("selfid_closed");
      buttons.forEach((b) => (b.disabled = false));
      errorBox.textContent = t(lang, "selfid_error", { msg: err.message || String(err) });
    }
  });
  return section;
}

main().catch(fail);
