// The interviewer's live view: relayed video, captions, rolling signals, indicators, warnings.
import { api, el, iceGatheringDone, interviewId, liveSocket, takeToken } from "/static/common.js";

const id = interviewId();
const token = takeToken("interviewer");
const $ = (sel) => document.getElementById(sel);
const LABELS = {
  speaking_rate: "Speaking rate",
  pauses: "Pauses",
  face_present: "Face present",
  eye_contact: "Eye contact",
};

const label = (name) => LABELS[name] ||
  name.replace(/^competency:/, "").replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());

function renderScores(scores) {
  const box = $("scores");
  for (const [name, s] of Object.entries(scores)) {
    let row = box.querySelector(`[data-dim="${name}"]`);
    if (!row) {
      row = el("div", { class: "score", "data-dim": name },
        el("span", { class: "label" }, label(name)),
        el("meter", { min: "0", max: "100", "aria-label": label(name) }),
        el("span", { class: "value" }), el("span", { class: "trend" }));
      // Competency scores first, raw signals after.
      if (name.startsWith("competency:")) box.prepend(row);
      else box.append(row);
    }
    row.querySelector("meter").value = s.value;
    row.querySelector(".value").textContent = `${s.raw} ${s.unit}`;
    row.querySelector(".trend").textContent = s.trend > 0 ? "▲" : s.trend < 0 ? "▼" : "•";
  }
}

function warn(text) {
  const list = $("warnings");
  list.append(el("li", {}, text));
  while (list.children.length > 5) list.firstChild.remove();
}

function onRecord(rec) {
  switch (rec.type) {
    case "snapshot":
      renderScores(rec.scores);
      rec.events.forEach(onRecord);
      break;
    case "scores":
      renderScores(rec.scores);
      break;
    case "question":
      $("question").textContent = `Question ${rec.index + 1}: ${rec.text}`;
      break;
    case "caption":
      if (rec.final) {
        $("captions-final").append(el("p", {}, rec.text));
        $("captions-partial").textContent = "";
      } else {
        $("captions-partial").textContent = rec.text;
      }
      break;
    case "face":
      $("face").textContent = rec.faces === 0 ? "face: absent" : rec.faces > 1 ? "face: several!" : "face: present";
      $("face").dataset.ok = rec.faces === 1;
      $("gaze").textContent = `eye contact: ${rec.eye_contact ? "yes" : "no"}`;
      $("gaze").dataset.ok = rec.eye_contact;
      for (const w of rec.warnings) if (w !== "too_small") warn(`video: ${w.replace("_", " ")}`);
      break;
    case "affect":
      $("affect").hidden = false;
      $("affect").textContent = `expression: ${rec.top}`;
      break;
    case "degraded":
      warn(rec.recovered ? `${rec.stage} recovered` : `${rec.stage} degraded: ${rec.reason}`);
      break;
    case "ended":
      $("state").textContent = "finished";
      break;
  }
}

function showBackground(bg) {
  const box = $("background");
  const c = bg.candidate || {};
  const parts = [];
  if (c.experience) parts.push(`${c.experience.reduce((a, e) => a + (e.years || 0), 0)} years of experience`);
  if (c.education && c.education.length) parts.push(c.education.map((e) => e.degree).join(", "));
  const lines = bg.match ? bg.match.lines.map((l) => el("li", {}, l.reason)) : [];
  box.replaceChildren(
    el("p", {}, parts.join(" · ") || "No profile on file."),
    ...(bg.match ? [el("p", {}, `Match with the requirements: ${bg.match.overall ?? "–"}%`), el("ul", {}, ...lines)] : []),
  );
}

async function watchVideo() {
  const pc = new RTCPeerConnection();
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.ontrack = (ev) => ($("video").srcObject = new MediaStream([ev.track]));
  await pc.setLocalDescription(await pc.createOffer());
  await iceGatheringDone(pc);
  try {
    const answer = await api(`/api/interviews/${id}/watch`, token, { sdp: pc.localDescription.sdp, type: "offer" });
    await pc.setRemoteDescription(answer);
  } catch (err) {
    pc.close();
    setTimeout(watchVideo, 3000); // not live yet: try again
  }
}

async function main() {
  if (!token) throw new Error("this link has no interviewer token");
  const info = await api(`/api/interviews/${id}`, token);
  $("title").textContent = `${info.requisition.title} · ${info.candidate_name}`;
  $("state").textContent = info.state;
  api(`/api/interviews/${id}/background`, token).then(showBackground).catch(() => {});
  liveSocket(id, token, onRecord, () => ($("state").textContent += " (disconnected)"));
  if (info.state !== "finished") watchVideo();
}

main().catch((err) => ($("state").textContent = `error: ${err.message}`));
