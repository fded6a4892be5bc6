// The interviewer's scorecard: each competency rated 1-5 on its behaviourally anchored scale,
// with a note, saved per competency. Loaded when the panel is first opened; before the
// interview is live it waits for the live feed to show the interview running, then asks again
// (never a polling loop against a 409).
import { api, el } from "/static/common.js";

const TEXT = {
  en: {
    title: "Scorecard",
    intro: "Rate each competency on its scale; 2 and 4 lie between the anchors.",
    loading: "Loading the scorecard…",
    load_error: "The scorecard could not be loaded: {msg}",
    waiting: "Rating opens when the interview starts.",
    closed: "This interview cannot be rated ({state}).",
    synthetic: "Demo interviews are not rated.",
    rated_by: "Your ratings are recorded as {rater}.",
    interviewer_only: "rated by interviewers only",
    note: "Note",
    save: "Save",
    unsaved: "Not saved yet",
    need_score: "Choose a score to save the note",
    saving: "Saving…",
    saved: "Saved",
    error: "Not saved: {msg}",
  },
  zh: {
    title: "评分表",
    intro: "按各能力的行为锚定量表评分；2 分和 4 分介于锚点之间。",
    loading: "正在加载评分表…",
    load_error: "无法加载评分表：{msg}",
    waiting: "面试开始后即可评分。",
    closed: "此面试无法评分（{state}）。",
    synthetic: "演示面试不评分。",
    rated_by: "您的评分记录为 {rater}。",
    interviewer_only: "仅由面试官评分",
    note: "备注",
    save: "保存",
    unsaved: "尚未保存",
    need_score: "请先选择分数再保存备注",
    saving: "正在保存…",
    saved: "已保存",
    error: "未保存：{msg}",
  },
};

const LEVELS = [1, 2, 3, 4, 5];
const BEFORE_LIVE = new Set(["scheduled", "consented"]);
// Records that come only once the candidate's media flows (after the interview is marked
// live) or when it ends; score records are left out: a session may publish them while going live.
const LIVE_RECORDS = new Set(["question", "caption", "speech", "face", "affect", "ended"]);
const RETRY_GAP_MS = 3000; // at most one retry per this long, however many records arrive
const SCORE_DELAY_MS = 300;
const NOTE_DELAY_MS = 1000;

const fill = (s, vars) => s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));

/** Mounts the scorecard in `root` (an empty element). Returns `onRecord(rec)`, to be given
 * every live-feed record, which reloads a not-yet-ratable scorecard once the interview runs. */
export function mountScorecard(root, id, token) {
  let t = TEXT.en;
  let card = null; // the last scorecard read
  let loading = false;
  let lastLoad = 0;
  let waiting = false; // loaded before the interview was live

  const status = el("p", { class: "small scorecard-status", role: "status" });
  const list = el("div", { class: "scorecard-items" });
  const summary = el("summary", {}, t.title);
  const panel = el("details", { class: "scorecard", id: "scorecard-panel" }, summary, status, list);
  root.replaceChildren(panel);

  async function load() {
    if (loading) return;
    loading = true;
    lastLoad = Date.now();
    if (!card) status.textContent = t.loading;
    try {
      card = await api(`/api/interviews/${id}/scorecard`, token);
      t = TEXT[card.language] || TEXT.en;
      summary.textContent = t.title;
      render();
    } catch (err) {
      status.textContent = fill(t.load_error, { msg: err.message });
    } finally {
      loading = false;
    }
  }

  function render() {
    waiting = !card.can_rate && BEFORE_LIVE.has(card.state);
    panel.dataset.canRate = String(card.can_rate);
    if (card.can_rate) {
      status.textContent = card.rater ? fill(t.rated_by, { rater: card.rater }) : t.intro;
    } else if (waiting) {
      status.textContent = t.waiting;
    } else {
      status.textContent = BEFORE_LIVE.has(card.state) || card.state === "abandoned"
        ? fill(t.closed, { state: card.state }) : t.synthetic;
    }
    list.replaceChildren(...(card.can_rate ? card.competencies.map(item) : []));
  }

  function item(c) {
    const name = `rate-${c.key}`;
    const state = { score: c.rating?.score ?? null, note: c.rating?.note ?? "", timer: 0, busy: false, again: false };
    const saveState = el("span", { class: "save-state", role: "status", "data-state": c.rating ? "saved" : "idle" },
      c.rating ? t.saved : "");
    const choices = LEVELS.map((level) => {
      const input = el("input", { type: "radio", name, value: String(level) });
      input.checked = state.score === level;
      input.addEventListener("change", () => {
        state.score = level;
        schedule(SCORE_DELAY_MS);
      });
      const anchor = c.anchors?.[level] ?? c.anchors?.[String(level)];
      return el("label", { class: "choice", "data-level": String(level) }, input,
        el("span", { class: "level" }, String(level)),
        ...(anchor ? [el("span", { class: "anchor" }, anchor)] : []));
    });
    const noteId = `note-${c.key}`;
    const note = el("textarea", { id: noteId, rows: "2", maxlength: "2000" });
    note.value = state.note;
    note.addEventListener("input", () => {
      state.note = note.value;
      schedule(NOTE_DELAY_MS);
    });
    note.addEventListener("blur", () => { if (state.timer) flush(); });
    const save = el("button", { type: "button", class: "secondary small-btn" }, t.save);
    save.addEventListener("click", flush);

    function show(kind, text) {
      saveState.dataset.state = kind;
      saveState.textContent = text;
    }

    function schedule(delay) {
      clearTimeout(state.timer);
      show("dirty", state.score ? t.unsaved : t.need_score);
      state.timer = setTimeout(flush, delay);
    }

    // One request at a time per competency; a change made meanwhile is sent after it.
    async function flush() {
      clearTimeout(state.timer);
      state.timer = 0;
      if (state.busy) {
        state.again = true;
        return;
      }
      if (!state.score) {
        show("dirty", t.need_score);
        return;
      }
      state.busy = true;
      const sent = { score: state.score, note: state.note };
      show("saving", t.saving);
      try {
        const row = await api(`/api/interviews/${id}/ratings/${encodeURIComponent(c.key)}`, token, sent, "PUT");
        if (!card.rater && row.rater) {
          card.rater = row.rater;
          status.textContent = fill(t.rated_by, { rater: row.rater });
        }
        const current = state.score === sent.score && state.note === sent.note;
        if (current) show("saved", t.saved);
      } catch (err) {
        show("error", fill(t.error, { msg: err.message }));
      } finally {
        state.busy = false;
      }
      if (state.again) {
        state.again = false;
        flush();
      }
    }

    const heading = c.measure === null ? [el("span", { class: "small" }, ` (${t.interviewer_only})`)] : [];
    return el("fieldset", { class: "rate", "data-key": c.key },
      el("legend", {}, c.label, ...heading),
      el("div", { class: "choices" }, ...choices),
      el("label", { for: noteId, class: "small" }, t.note), note,
      el("div", { class: "save-row" }, save, saveState));
  }

  panel.addEventListener("toggle", () => { if (panel.open && !card) load(); });

  return function onRecord(rec) {
    if (!waiting || loading || Date.now() - lastLoad < RETRY_GAP_MS) return;
    const live = LIVE_RECORDS.has(rec.type)
      || (rec.type === "feed" && rec.state === "resumed")
      || (rec.type === "snapshot" && rec.events?.length > 0);
    if (live) load();
  };
}
