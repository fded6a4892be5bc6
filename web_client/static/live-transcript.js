// Live captions: up to three lines over the video (the last finals and the partial, which is
// replaced in place), and a transcript panel that groups the final captions under their
// question with media-time stamps, marks words the recogniser was unsure of, shows connection
// gaps, and follows the newest line unless the reader has scrolled up (then a "jump to latest"
// button brings it back). The panel is the polite live region; the overlay repeats it visually
// and is hidden from screen readers, so each caption is announced once, when final.
import { el } from "/static/common.js";
import { t } from "/static/i18n.js";

const OVERLAY_FINALS = 2; // plus the partial: three lines at most
const LOW_CONFIDENCE = 0.5;
const NEAR_BOTTOM_PX = 24;
const CJK = /[\u3000-\u303f\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]/;

export function mmss(seconds) {
  const s = Math.max(0, Math.floor(seconds || 0));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

/** Elements: `panel` (the scrolling transcript), `overlay` (captions over the video), `jump`
 * (the "jump to latest" button). Returns handlers for question, caption and gap records. */
export function createTranscript(lang, { panel, overlay, jump }) {
  const tr = (key, vars) => t(lang, key, vars);
  const groups = new Map(); // question index (-1: before the first) -> its <section>
  const questions = []; // {index, t} in the order asked
  const lines = new Map(); // "utterance:segment" -> its <p> (a record may come twice)
  const gaps = new Set();
  const finals = []; // the overlay's last final texts
  let partial = null; // {utterance, text}
  let follow = true;

  const atBottom = () => panel.scrollHeight - panel.scrollTop - panel.clientHeight <= NEAR_BOTTOM_PX;
  panel.addEventListener("scroll", () => {
    follow = atBottom();
    jump.hidden = follow;
  });
  jump.addEventListener("click", () => {
    follow = true;
    jump.hidden = true;
    panel.scrollTop = panel.scrollHeight;
    panel.focus({ preventScroll: true });
  });
  function added() {
    panel.querySelector(".transcript-empty")?.remove();
    if (follow) panel.scrollTop = panel.scrollHeight;
    else jump.hidden = false;
  }

  // The question a moment of media time belongs to: the last one asked at or before it.
  function indexAt(time) {
    let index = -1;
    for (const q of questions) if (typeof q.t !== "number" || typeof time !== "number" || q.t <= time + 0.05) index = q.index;
    return index;
  }

  function group(index, text) {
    let g = groups.get(index);
    if (!g) {
      const title = index < 0 ? tr("live_question_none") : tr("live_question", { n: index + 1, text: text || "" });
      g = el("section", { class: "tq", "data-index": String(index) }, el("h3", {}, title));
      const after = [...groups.entries()].filter(([i]) => i > index).sort(([a], [b]) => a - b)[0];
      panel.insertBefore(g, after ? after[1] : null);
      groups.set(index, g);
    } else if (text && index >= 0) {
      g.querySelector("h3").textContent = tr("live_question", { n: index + 1, text });
    }
    return g;
  }

  // Appends `node` to its group in media-time order (records may arrive late after a gap).
  function place(g, node, time) {
    node.dataset.time = String(time ?? "");
    const later = [...g.querySelectorAll(":scope > [data-time]")].find((x) => x.dataset.time !== "" && Number(x.dataset.time) > time);
    g.insertBefore(node, later || null);
  }

  function words(rec) {
    const ws = Array.isArray(rec.words) ? rec.words : [];
    if (!ws.length || !ws.some((w) => typeof w[3] === "number" && w[3] < LOW_CONFIDENCE)) return [rec.text || ""];
    const out = [];
    let prev = "";
    for (const [, , text, prob] of ws) {
      const word = String(text ?? "");
      if (out.length && !(CJK.test(prev.slice(-1)) && CJK.test(word[0] || ""))) out.push(" ");
      if (typeof prob === "number" && prob < LOW_CONFIDENCE) {
        const pct = Math.round(prob * 100);
        out.push(el("mark", { class: "low-confidence", title: tr("live_low_confidence", { pct }) }, word,
          el("span", { class: "sr-only" }, ` ${tr("live_low_confidence_short")}`)));
      } else {
        out.push(word);
      }
      prev = word;
    }
    return out;
  }

  function renderOverlay() {
    const shown = finals.slice(-OVERLAY_FINALS).map((text) => el("p", { class: "cc-line" }, text));
    if (partial?.text) shown.push(el("p", { class: "cc-line partial" }, partial.text));
    overlay.replaceChildren(...shown);
    overlay.hidden = shown.length === 0;
  }

  function question(rec) {
    if (!questions.some((q) => q.index === rec.index)) questions.push({ index: rec.index, t: rec.t });
    group(rec.index, rec.text);
    // A new question starts a new answer: the overlay's old lines belong to the last one.
    finals.length = 0;
    partial = null;
    renderOverlay();
  }

  function caption(rec) {
    if (!rec.final) {
      partial = { utterance: rec.utterance, text: rec.text };
      renderOverlay();
      return;
    }
    if (partial && partial.utterance === rec.utterance) partial = null;
    const key = `${rec.utterance}:${rec.segment ?? 0}`;
    const time = rec.t_start ?? rec.words?.[0]?.[0] ?? 0;
    const stamp = el("time", { datetime: `PT${Math.floor(time)}S` }, mmss(time));
    const line = el("p", { class: "line", "data-key": key }, stamp, " ", el("span", { class: "text" }, ...words(rec)));
    const old = lines.get(key);
    if (old) {
      old.replaceWith(line);
    } else {
      place(group(indexAt(time)), line, time);
      finals.push(rec.text || "");
      if (finals.length > OVERLAY_FINALS) finals.shift();
    }
    lines.set(key, line);
    renderOverlay();
    added();
  }

  function gap(rec) {
    const key = `${rec.t}:${rec.duration_s}`;
    if (gaps.has(key)) return;
    gaps.add(key);
    const s = Math.round(rec.duration_s || 0);
    const marker = el("div", { class: "gap", role: "note" },
      el("span", { "aria-hidden": "true" }, "⚠ "), tr("live_gap", { s }),
      el("span", { class: "when" }, ` · ${mmss(rec.t)}`));
    place(group(indexAt(rec.t)), marker, rec.t);
    partial = null;
    renderOverlay();
    added();
  }

  function end() {
    partial = null;
    renderOverlay();
  }

  return { question, caption, gap, end };
}
