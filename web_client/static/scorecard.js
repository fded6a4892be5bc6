// The interviewer's scorecard: each competency rated 1-5 on its behaviourally anchored scale,
// with a note, saved per competency. Loaded when the panel is first opened; before the
// interview is live it waits for the live feed to show the interview running, then asks again
// (never a polling loop against a 409).
import { api, el } from "/static/common.js";
import { t as text } from "/static/i18n.js";

const LEVELS = [1, 2, 3, 4, 5];
const BEFORE_LIVE = new Set(["scheduled", "consented"]);
// Records that come only once the candidate's media flows (after the interview is marked
// live) or when it ends; score records are left out: a session may publish them while going live.
const LIVE_RECORDS = new Set(["question", "caption", "speech", "face", "affect", "ended"]);
const RETRY_GAP_MS = 3000; // at most one retry per this long, however many records arrive
const SCORE_DELAY_MS = 300;
const NOTE_DELAY_MS = 1000;

/** Mounts the scorecard in `root` (an empty element). Returns `onRecord(rec)`, to be given
 * every live-feed record, which reloads a not-yet-ratable scorecard once the interview runs. */
export function mountScorecard(root, id, token, lang = "en") {
  const tr = (key, vars) => text(lang, `scorecard_${key}`, vars);
  // Why a call failed, in the page's language (the server's English goes to the console).
  const reason = (err) => {
    console.debug("scorecard:", err.status, err.message);
    if (err.status === 401 || err.status === 403) return tr("reason_link");
    if (err.status === 409) return tr("reason_closed");
    if (err.status === 400 || err.status === 422) return tr("reason_invalid");
    if (err.status === 429) return tr("reason_busy");
    return tr("reason_other");
  };
  let card = null; // the last scorecard read
  let loading = false;
  let lastLoad = 0;
  let waiting = false; // loaded before the interview was live

  const status = el("p", { class: "small scorecard-status", role: "status" });
  const list = el("div", { class: "scorecard-items" });
  const summary = el("summary", {}, tr("title"));
  const panel = el("details", { class: "scorecard", id: "scorecard-panel" }, summary, status, list);
  root.replaceChildren(panel);

  async function load() {
    if (loading) return;
    loading = true;
    lastLoad = Date.now();
    if (!card) status.textContent = tr("loading");
    try {
      card = await api(`/api/interviews/${id}/scorecard`, token);
      render();
    } catch (err) {
      status.textContent = tr("load_error", { msg: reason(err) });
    } finally {
      loading = false;
    }
  }

  function render() {
    waiting = !card.can_rate && BEFORE_LIVE.has(card.state);
    panel.dataset.canRate = String(card.can_rate);
    if (card.can_rate) {
      status.textContent = card.rater ? tr("rated_by", { rater: card.rater }) : tr("intro");
    } else if (waiting) {
      status.textContent = tr("waiting");
    } else {
      status.textContent = BEFORE_LIVE.has(card.state) || card.state === "abandoned"
        ? tr("closed", { state: card.state === "abandoned" ? text(lang, "live_state_abandoned") : card.state }) : tr("synthetic");
    }
    list.replaceChildren(...(card.can_rate ? card.competencies.map(item) : []));
  }

  function item(c) {
    const name = `rate-${c.key}`;
    const state = { score: c.rating?.score ?? null, note: c.rating?.note ?? "", timer: 0, busy: false, again: false };
    const saveState = el("span", { class: "save-state", role: "status", "data-state": c.rating ? "saved" : "idle" },
      c.rating ? tr("saved") : "");
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
    const save = el("button", { type: "button", class: "secondary small-btn" }, tr("save"));
    save.addEventListener("click", flush);

    function show(kind, text) {
      saveState.dataset.state = kind;
      saveState.textContent = text;
    }

    function schedule(delay) {
      clearTimeout(state.timer);
      show("dirty", state.score ? tr("unsaved") : tr("need_score"));
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
        show("dirty", tr("need_score"));
        return;
      }
      state.busy = true;
      const sent = { score: state.score, note: state.note };
      show("saving", tr("saving"));
      try {
        const row = await api(`/api/interviews/${id}/ratings/${encodeURIComponent(c.key)}`, token, sent, "PUT");
        if (!card.rater && row.rater) {
          card.rater = row.rater;
          status.textContent = tr("rated_by", { rater: row.rater });
        }
        const current = state.score === sent.score && state.note === sent.note;
        if (current) show("saved", tr("saved"));
      } catch (err) {
        show("error", tr("error", { msg: reason(err) }));
      } finally {
        state.busy = false;
      }
      if (state.again) {
        state.again = false;
        flush();
      }
    }

    const heading = c.measure === null ? [el("span", { class: "small" }, ` (${tr("interviewer_only")})`)] : [];
    return el("fieldset", { class: "rate", "data-key": c.key },
      el("legend", {}, c.label, ...heading),
      el("div", { class: "choices" }, ...choices),
      el("label", { for: noteId, class: "small" }, tr("note")), note,
      el("div", { class: "save-row" }, save, saveState));
  }

  panel.addEventListener("toggle", () => { if (panel.open && !card) load(); });

  return function onRecord(rec) {
    if (!waiting || loading || Date.now() - lastLoad < RETRY_GAP_MS) return;
    const live = LIVE_RECORDS.has(rec.type)
      || (rec.type === "feed" && rec.state === "resumed")
      || ((rec.type === "state" || rec.type === "snapshot") && rec.state === "live")
      || (rec.type === "snapshot" && rec.events?.length > 0);
    if (live) load();
  };
}
