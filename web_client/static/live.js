// The interviewer's live view: relayed video, captions, competency scores that explain
// themselves (formula, inputs, evidence on hover/focus), raw signals, indicators, warnings.
import { api, el, iceGatheringDone, interviewId, liveSocket, takeToken } from "/static/common.js";
import { mountScorecard } from "/static/scorecard.js";

const id = interviewId();
const token = takeToken("interviewer");
const $ = (sel) => document.getElementById(sel);
const SIGNAL_LABELS = {
  speaking_rate: "speaking rate",
  pauses: "pauses",
  face_present: "face present",
  eye_contact: "eye contact",
};
const PENDING = {
  insufficient_evidence: "collecting…",
  interviewer_only: "rated by interviewers",
  incomplete: "incomplete",
};

// The latest record per dimension: updates carry only what changed, and the overall names
// the missing competencies by key, whose labels come with their own records.
const latest = {};

const prettify = (key) => key.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
const compKey = (name) => name.replace(/^competency:/, "");
const labelOf = (key) => latest[`competency:${key}`]?.evidence?.label || prettify(key);
const fmt = (n, digits = 0) => (typeof n === "number" ? n.toFixed(digits) : "–");
const span = (t0, t1) => `${fmt(t0, 1)}–${fmt(t1, 1)} s`;

// Requisition order (the overall's weights), then the others alphabetically; the overall first.
function compOrder(a, b) {
  if (a === "overall" || b === "overall") return a === "overall" ? -1 : b === "overall" ? 1 : 0;
  const req = Object.keys(latest["competency:overall"]?.evidence?.weights || {});
  const ia = req.indexOf(a);
  const ib = req.indexOf(b);
  if (ia !== -1 || ib !== -1) return ia === -1 ? 1 : ib === -1 ? -1 : ia - ib;
  return a < b ? -1 : a > b ? 1 : 0;
}

function compRow(name) {
  const box = $("scores");
  let row = box.querySelector(`[data-dim="${CSS.escape(name)}"]`);
  if (row) return row;
  const tipId = `tip-${name.replace(/[^A-Za-z0-9_-]/g, "_")}-${box.children.length}`;
  const bar = el("span", { class: "bar", role: "meter", "aria-valuemin": "0", "aria-valuemax": "100" },
    el("span", { class: "fill" }));
  row = el("div", { class: "score", "data-dim": name, tabindex: "0", role: "group", "aria-describedby": tipId },
    el("span", { class: "label" }), bar, el("span", { class: "value" }), el("span", { class: "trend" }),
    el("p", { class: "note" }), el("div", { class: "tip", id: tipId, role: "tooltip" }));
  // Escape hides the panel until the row loses focus (the tooltip can be dismissed).
  row.addEventListener("keydown", (ev) => { if (ev.key === "Escape") row.classList.add("tip-closed"); });
  row.addEventListener("blur", () => row.classList.remove("tip-closed"));
  row.addEventListener("mouseleave", () => row.classList.remove("tip-closed"));
  const key = compKey(name);
  const after = [...box.children].find((r) => compOrder(key, compKey(r.dataset.dim)) < 0);
  box.insertBefore(row, after || null);
  return row;
}

// The rows stay where they are; only the weights arriving after the rows can move them.
function keepOrder() {
  const box = $("scores");
  const rows = [...box.children];
  const sorted = [...rows].sort((a, b) => compOrder(compKey(a.dataset.dim), compKey(b.dataset.dim)));
  if (sorted.some((r, i) => r !== rows[i])) box.append(...sorted);
}

function tipSection(title, ...children) {
  return el("div", { class: "tip-part" }, el("strong", {}, title), ...children);
}

function competencyTip(s) {
  const ev = s.evidence || {};
  const parts = [];
  if (ev.formula) parts.push(tipSection("Formula", el("code", {}, ev.formula)));
  const inputs = Object.entries(ev.answer_inputs || {});
  parts.push(tipSection("This answer",
    inputs.length
      ? el("ul", {}, ...inputs.map(([k, v]) => el("li", {}, `${k.replace(/_/g, " ")}: ${typeof v === "number" ? +v.toFixed(2) : v}`)))
      : el("span", {}, " no inputs yet")));
  if (typeof ev.confidence === "number") parts.push(tipSection("Confidence", ` ${Math.round(ev.confidence * 100)}%`));
  if (ev.needs) parts.push(tipSection("Still needed", ` ${ev.needs}`));
  const items = (ev.evidence || []).slice(0, 5);
  if (items.length) {
    parts.push(tipSection("Evidence", el("ul", { class: "evidence" }, ...items.map(([kind, text, t0, t1]) =>
      el("li", {}, el("span", { class: "kind" }, `${kind} `), el("q", {}, text || ""),
        el("span", { class: "when" }, ` ${span(t0, t1)}`))))));
  } else if (ev.status === "interviewer_only") {
    parts.push(tipSection("Evidence", " interviewers rate this on the requisition's scale; the engine does not measure it"));
  }
  return parts;
}

function overallTip(s) {
  const ev = s.evidence || {};
  const weights = Object.entries(ev.weights || {});
  return [
    tipSection("Formula", el("code", {}, "weighted mean of the competencies with a value")),
    tipSection("Weights", el("ul", {}, ...weights.map(([k, w]) => el("li", {}, `${labelOf(k)}: ${Math.round(w * 100)}%${
      latest[`competency:${k}`]?.evidence?.status === "interviewer_only" ? " (rated by interviewers, not in this score)" : ""}`)))),
    tipSection("Coverage", ` ${Math.round((ev.coverage || 0) * 100)}% of the measurable weight has a value (60% needed)`),
    ...(ev.missing && ev.missing.length
      ? [tipSection("Still needed", ` ${ev.missing.map(labelOf).join(", ")}`)] : []),
  ];
}

function renderCompetency(name) {
  const s = latest[name];
  const ev = s.evidence || {};
  const key = compKey(name);
  const row = compRow(name);
  const label = key === "overall" ? "Overall" : labelOf(key);
  const has = typeof s.value === "number";
  row.dataset.status = has ? "scored" : ev.status || "insufficient_evidence";
  row.classList.toggle("pending", !has);
  row.setAttribute("aria-label", label);
  row.querySelector(".label").textContent = label;
  const bar = row.querySelector(".bar");
  bar.hidden = !has;
  if (has) {
    bar.setAttribute("aria-valuenow", String(s.value));
    bar.querySelector(".fill").style.width = `${Math.max(0, Math.min(100, s.value))}%`;
  } else {
    bar.removeAttribute("aria-valuenow");
  }
  row.querySelector(".value").textContent = has ? fmt(s.value) : PENDING[ev.status] || "collecting…";
  const trend = row.querySelector(".trend");
  trend.textContent = !has ? "" : s.trend > 0 ? "▲" : s.trend < 0 ? "▼" : "";
  trend.setAttribute("aria-label", trend.textContent === "▲" ? "rising" : trend.textContent === "▼" ? "falling" : "");
  const note = row.querySelector(".note");
  note.textContent = key === "overall" && !has && ev.missing && ev.missing.length
    ? `missing: ${ev.missing.map(labelOf).join(", ")}` : "";
  note.hidden = !note.textContent;
  row.querySelector(".tip").replaceChildren(...(key === "overall" ? overallTip(s) : competencyTip(s)));
}

function renderSignal(name, s) {
  const box = $("signals");
  let item = box.querySelector(`[data-dim="${CSS.escape(name)}"]`);
  if (!item) {
    item = el("li", { class: "signal", "data-dim": name },
      el("span", { class: "label" }, SIGNAL_LABELS[name] || name.replace(/_/g, " ")), " ",
      el("span", { class: "value" }));
    box.append(item);
  }
  const raw = fmt(s.raw);
  item.querySelector(".value").textContent = raw === "–" ? raw : s.unit === "%" ? `${raw}%` : `${raw} ${s.unit}`;
}

function renderScores(scores) {
  const comps = [];
  for (const [name, s] of Object.entries(scores)) {
    if (name.startsWith("competency:")) {
      latest[name] = s;
      comps.push(name);
    } else {
      renderSignal(name, s);
    }
  }
  if (!comps.length) return;
  for (const name of comps) renderCompetency(name);
  // The overall names other competencies by their labels, which may have just arrived.
  if (latest["competency:overall"] && !comps.includes("competency:overall")) renderCompetency("competency:overall");
  keepOrder();
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
      $("gaze").textContent = `eye contact: ${rec.eye_contact ? "yes" : "no"}`; // a signal, not a verdict
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
  const scorecardRecord = mountScorecard($("scorecard"), id, token);
  const onFeed = (rec) => { onRecord(rec); scorecardRecord(rec); };
  liveSocket(id, token, onFeed, () => ($("state").textContent += " (disconnected)"));
  if (info.state !== "finished") watchVideo();
}

main().catch((err) => ($("state").textContent = `error: ${err.message}`));
