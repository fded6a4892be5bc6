// The interviewer's live view. Where the interview stands (waiting for the candidate / live /
// interrupted / ended) comes from the live feed: the socket is opened at once, and the relayed
// video is asked for (POST /watch) only when the feed says the interview is live, again only
// after a real failure (with backoff) or a rejoin. At the end the video gives way to an
// "Interview ended" panel, the indicators go neutral and a "View report" link appears that
// works with this page's own interviewer link.
import { api, el, iceGatheringDone, interviewId, liveSocket, takeToken } from "/static/common.js";
import { languageSwitch, t } from "/static/i18n.js";
import { pageLanguage } from "/static/live-language.js";
import { createScores } from "/static/live-scores.js";
import { createTranscript } from "/static/live-transcript.js";
import { mountScorecard } from "/static/scorecard.js";

const id = interviewId();
const token = takeToken("interviewer");
const $ = (sel) => document.getElementById(sel);

// The lifecycle's states as the interviewer sees them.
const PHASE = {
  scheduled: "waiting",
  consented: "waiting",
  live: "live",
  interrupted: "interrupted",
  finished: "ended",
  abandoned: "abandoned",
};
// Drawn by live.css per state (a shape each: dashed ring, dot, "!" box, square), so the state
// never rests on colour alone and needs no emoji font.
const ICON = { connecting: "…", waiting: "", live: "", interrupted: "!", ended: "", abandoned: "" };
// Records that only a running interview produces (a feed without state records still says so).
const RUNNING = new Set(["question", "caption", "speech", "face", "affect"]);
const WATCH_RETRY_MS = [1000, 2000, 4000, 8000, 15000, 30000];
// Why the video could not be had, in the page's language: an HTTP status names its reason; the
// server's own words (English) only go to the console.
const WATCH_WHY = { 400: "live_why_not_live", 401: "live_why_link", 403: "live_why_link", 404: "live_why_not_live", 409: "live_why_not_live", 429: "live_why_busy" };
// The pipeline's stages and face warnings that have words of their own.
const STAGES = new Set(["asr", "vad", "face", "affect"]);
const WARNINGS = new Set(["no_face", "several_faces", "too_dark", "looking_away", "cut_off"]);
const AFFECTS = new Set(["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]);
const FEED_RETRY_MS = [1000, 2000, 5000, 10000, 30000];

let lang = "en";
const tr = (key, vars) => t(lang, key, vars);

let phase = "connecting";
let lifecycle = null; // the server's word for the state (consented says more than "waiting")
let transcript = null;
let scores = null;
let scorecardRecord = () => {};
let iceServers = [];

function translatePage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : lang;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = tr(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-aria-label]")) {
    node.setAttribute("aria-label", tr(node.getAttribute("data-i18n-aria-label")));
  }
}

function showPhase() {
  const banner = $("state");
  banner.dataset.state = phase;
  banner.querySelector(".icon").textContent = ICON[phase];
  const words = phase === "connecting" ? "live_connecting"
    : phase === "waiting" && lifecycle === "consented" ? "live_state_consented" : `live_state_${phase}`;
  banner.querySelector(".text").textContent = tr(words);
  const overlay = $("overlay");
  const kind = phase === "live" ? (videoPlaying ? null : "connecting") : phase === "abandoned" ? "ended" : phase;
  overlay.hidden = kind === null;
  if (kind) {
    overlay.dataset.kind = kind;
    overlay.querySelector(".icon").textContent = ICON[kind];
    overlay.querySelector(".text").textContent = tr(`live_overlay_${kind}`);
  }
  $("video").classList.toggle("dimmed", phase !== "live");
}

function setPhase(next, state) {
  if (phase === "ended" || phase === "abandoned") return; // the end is final
  if (state && state !== lifecycle) {
    lifecycle = state;
    if (next === phase) showPhase();
  }
  if (!next || next === phase) return;
  const was = phase;
  phase = next;
  // Back from an interruption the candidate's media comes on a new connection: a new relay.
  if (phase === "live" && was === "interrupted") stopVideo();
  if (phase === "ended" || phase === "abandoned") finish();
  showPhase();
  if (phase === "live") watch();
}

// Video ------------------------------------------------------------------------------------

let pc = null;
let videoPlaying = false;
let watchTry = 0;
let watchTimer = 0;

function stopVideo() {
  clearTimeout(watchTimer);
  watchTimer = 0;
  if (pc) pc.close();
  pc = null;
  videoPlaying = false;
  $("video").srcObject = null;
}

function retryWatch(why) {
  if (phase !== "live" || watchTimer) return;
  const delay = WATCH_RETRY_MS[Math.min(watchTry, WATCH_RETRY_MS.length - 1)];
  watchTry += 1;
  showFeedError(tr("live_video_retry", { why: tr(why), s: Math.round(delay / 1000) }), "video");
  watchTimer = setTimeout(() => { watchTimer = 0; watch(); }, delay);
}

async function watch() {
  if (phase !== "live" || pc || watchTimer) return;
  const mine = new RTCPeerConnection({ iceServers });
  pc = mine;
  mine.addTransceiver("video", { direction: "recvonly" });
  mine.ontrack = (ev) => { $("video").srcObject = new MediaStream([ev.track]); };
  mine.onconnectionstatechange = () => {
    if (pc !== mine) return;
    if (mine.connectionState === "connected") {
      watchTry = 0;
      clearFeedError("video");
    } else if (mine.connectionState === "failed") {
      stopVideo();
      retryWatch("live_why_connection");
    }
  };
  try {
    await mine.setLocalDescription(await mine.createOffer());
    await iceGatheringDone(mine);
    if (pc !== mine) return;
    const answer = await api(`/api/interviews/${id}/watch`, token, { sdp: mine.localDescription.sdp, type: "offer" });
    if (pc !== mine) return;
    await mine.setRemoteDescription(answer);
  } catch (err) {
    if (pc !== mine) return;
    console.debug("watch failed", err.status, err.message);
    stopVideo();
    retryWatch(WATCH_WHY[err.status] || (err.status >= 500 ? "live_why_server" : "live_why_other"));
  }
}

// The end ----------------------------------------------------------------------------------

function finish() {
  stopVideo();
  transcript?.end();
  for (const [node, key] of [[$("face"), "live_face_unknown"], [$("gaze"), "live_gaze_unknown"]]) {
    node.textContent = tr(key);
    delete node.dataset.ok;
  }
  $("affect").hidden = true;
  $("indicators").classList.add("neutral");
  clearFeedError("video");
  if (phase === "ended") {
    const link = $("report-link");
    link.href = `/report/${encodeURIComponent(id)}#token=${encodeURIComponent(token)}`;
    link.hidden = false;
  }
}

// Messages above the page (feed and video problems) -----------------------------------------

function showFeedError(text, source) {
  const box = $("feed-error");
  box.textContent = text;
  box.dataset.source = source;
  box.hidden = false;
}

function clearFeedError(source) {
  const box = $("feed-error");
  if (box.dataset.source === source) box.hidden = true;
}

// The live feed ------------------------------------------------------------------------------

function warn(text) {
  const list = $("warnings");
  list.append(el("li", {}, text));
  while (list.children.length > 5) list.firstChild.remove();
}

function warningText(w) {
  if (!WARNINGS.has(w)) console.debug("video warning", w);
  return tr("live_warning", { what: tr(WARNINGS.has(w) ? `live_warning_${w}` : "live_warning_other") });
}

const stageName = (stage) => tr(STAGES.has(stage) ? `live_stage_${stage}` : "live_stage_other");

// The phase a record implies; state records and the snapshot's state are the server's word.
function phaseOf(rec) {
  if (rec.type === "state" || (rec.type === "snapshot" && rec.state)) return PHASE[rec.state];
  if (rec.type === "ended") return "ended";
  if (RUNNING.has(rec.type) && (phase === "waiting" || phase === "connecting")) return "live";
  return null;
}

// `history`: a record replayed from the snapshot. It fills the page in but says nothing about
// the phase now: an ended interview's history has "live" in it, a rejoined one's "interrupted"
// then "live", and acting on them would ask for video that is not (or already) there.
function onRecord(rec, history = false) {
  switch (rec.type) {
    case "snapshot":
      scores.render(rec.scores);
      for (const e of rec.events || []) onRecord(e, true);
      // The snapshot's own state (the server's, now) is what decides the phase.
      if (rec.question) $("question").textContent = tr("live_question", { n: rec.question.index + 1, text: rec.question.text });
      break;
    case "scores":
      scores.render(rec.scores);
      break;
    case "question":
      $("question").textContent = tr("live_question", { n: rec.index + 1, text: rec.text });
      transcript.question(rec);
      break;
    case "caption":
      transcript.caption(rec);
      break;
    case "gap":
      transcript.gap(rec);
      break;
    case "face":
      if (phase === "ended" || phase === "abandoned") break;
      $("face").textContent = tr(rec.faces === 0 ? "live_face_absent" : rec.faces > 1 ? "live_face_several" : "live_face_present");
      $("gaze").textContent = tr(rec.eye_contact ? "live_gaze_yes" : "live_gaze_no"); // a signal, not a verdict
      for (const w of rec.warnings || []) if (w !== "too_small") warn(warningText(w));
      break;
    case "affect":
      if (phase === "ended" || phase === "abandoned") break;
      $("affect").hidden = !AFFECTS.has(rec.top);
      $("affect").textContent = AFFECTS.has(rec.top) ? tr("live_affect", { top: tr(`live_affect_${rec.top}`) }) : "";
      break;
    case "degraded":
      if (!rec.recovered) console.debug("stage degraded", rec.stage, rec.reason);
      warn(tr(rec.recovered ? "live_recovered" : "live_degraded", { stage: stageName(rec.stage) }));
      break;
  }
  if (!history) setPhase(phaseOf(rec), rec.type === "state" || rec.type === "snapshot" ? rec.state : null);
}

let feedTry = 0;
let feedEverOpen = false;

function openFeed() {
  let got = false;
  liveSocket(id, token, (rec) => {
    if (!got) {
      got = true;
      feedEverOpen = true;
      feedTry = 0;
      clearFeedError("feed");
    }
    onRecord(rec);
    scorecardRecord(rec);
  }, (ev, how = {}) => {
    if (ev.code === 4401) return showFeedError(tr("live_feed_unauthorized"), "feed");
    if (ev.code === 4429) showFeedError(tr("live_feed_busy"), "feed");
    else if ((how.blocked || !got) && !feedEverOpen) showFeedError(tr("live_feed_blocked", { host: location.host }), "feed");
    else if (phase !== "ended" && phase !== "abandoned") showFeedError(tr("live_feed_reconnecting"), "feed");
    if (phase === "ended" || phase === "abandoned") return; // nothing more will come
    const delay = FEED_RETRY_MS[Math.min(feedTry, FEED_RETRY_MS.length - 1)];
    feedTry += 1;
    setTimeout(openFeed, delay);
  });
}

// Background ------------------------------------------------------------------------------------

function showBackground(bg) {
  const c = bg.candidate || {};
  const parts = [];
  if (c.experience) parts.push(tr("live_years", { n: c.experience.reduce((a, e) => a + (e.years || 0), 0) }));
  if (c.education?.length) parts.push(c.education.map((e) => e.degree).join(", "));
  const lines = bg.match ? bg.match.lines.map((l) => el("li", {}, l.reason)) : [];
  $("background").replaceChildren(
    el("p", {}, parts.join(" · ") || tr("live_no_profile")),
    ...(bg.match ? [el("p", {}, tr("live_match", { pct: bg.match.overall ?? "–" })), el("ul", {}, ...lines)] : []),
  );
}

async function main() {
  translatePage();
  if (!token) {
    phase = "connecting";
    showFeedError(tr("live_no_token"), "token");
    return;
  }
  const info = await api(`/api/interviews/${id}`, token);
  lang = pageLanguage(info.requisition?.language);
  iceServers = info.ice_servers || [];
  translatePage();
  $("lang").replaceChildren(languageSwitch(lang, tr("live_language")));
  const title = [info.requisition?.title, info.candidate_name].filter(Boolean).join(" · ");
  $("title").textContent = title || tr("live_page_title");
  document.title = `${title ? `${title} · ` : ""}${tr("live_page_title")} · hirestream`;
  transcript = createTranscript(lang, { panel: $("captions-final"), overlay: $("cc"), jump: $("jump") });
  scores = createScores(lang, $("scores"), $("signals"), info.requisition);
  $("video").addEventListener("playing", () => { videoPlaying = true; showPhase(); });
  api(`/api/interviews/${id}/background`, token).then(showBackground).catch(() => {});
  scorecardRecord = mountScorecard($("scorecard"), id, token, lang);
  setPhase(PHASE[info.state] || "waiting", info.state);
  openFeed();
}

main().catch((err) => {
  console.debug("live view failed", err.status, err.message);
  const key = err.status === 401 || err.status === 403 ? "live_link_invalid" : err.status === 404 ? "live_not_found"
    : err.status === 429 ? "live_error_busy" : "live_error";
  showFeedError(tr(key), "page");
});
