// The live view's competency rows and raw signals. Rows appear in the rubric's order (the
// overall first, then the requisition's competencies as it lists them, then the measures it
// does not name, alphabetically) and never move: a later row is inserted at its place. Every
// bar has the same neutral accent: a value is evidence with a confidence, not a verdict by
// colour. Each row explains itself (formula, inputs, evidence) on hover and on keyboard focus.
import { el } from "/static/common.js";
import { TEXT, t } from "/static/i18n.js";

// The server's competency key for a name (pipeline.scoring.catalogue.normalise).
export function competencyKey(name) {
  return name.normalize("NFKC").toLowerCase().trim().replace(/[\s\-_/]+/g, "_").replace(/^_+|_+$/g, "");
}

const prettify = (key) => key.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
const compKey = (name) => name.replace(/^competency:/, "");
const fmt = (n, digits = 0) => (typeof n === "number" ? n.toFixed(digits) : "–");

/** `requisition` is the interview's requisition (its competencies give the order). Returns
 * { render(scores), settle() }: render takes a scores map (snapshot or update). */
export function createScores(lang, box, signalBox, requisition) {
  const tr = (key, vars) => t(lang, key, vars);
  const maybe = (key) => (key in TEXT.en ? t(lang, key) : null); // keys made from server values
  const rubric = (requisition?.competencies || [])
    .map((c) => competencyKey(typeof c === "string" ? c : c.name));
  const latest = {}; // the latest record per competency: updates carry only what changed
  const labelOf = (key) => latest[`competency:${key}`]?.evidence?.label || prettify(key);

  // The rubric's order: overall, the requisition's (or the overall's weights, if the
  // requisition could not be read), then the others alphabetically.
  function rank(key) {
    if (key === "overall") return [0, 0, ""];
    const listed = rubric.length ? rubric : Object.keys(latest["competency:overall"]?.evidence?.weights || {});
    const i = listed.indexOf(key);
    return i !== -1 ? [1, i, ""] : [2, 0, key];
  }
  function before(a, b) {
    const [ra, rb] = [rank(a), rank(b)];
    return ra[0] - rb[0] || ra[1] - rb[1] || (ra[2] < rb[2] ? -1 : ra[2] > rb[2] ? 1 : 0);
  }

  function row(name) {
    let r = box.querySelector(`[data-dim="${CSS.escape(name)}"]`);
    if (r) return r;
    const tipId = `tip-${name.replace(/[^A-Za-z0-9_-]/g, "_")}-${box.children.length}`;
    const bar = el("span", { class: "bar", role: "meter", "aria-valuemin": "0", "aria-valuemax": "100" },
      el("span", { class: "fill" }));
    r = el("div", { class: "score", "data-dim": name, tabindex: "0", role: "group", "aria-describedby": tipId },
      el("span", { class: "label" }), bar, el("span", { class: "value" }), el("span", { class: "trend" }),
      el("p", { class: "note" }), el("div", { class: "tip", id: tipId, role: "tooltip" }));
    // Escape hides the panel until the row loses focus (the tooltip can be dismissed).
    r.addEventListener("keydown", (ev) => { if (ev.key === "Escape") r.classList.add("tip-closed"); });
    r.addEventListener("blur", () => r.classList.remove("tip-closed"));
    r.addEventListener("mouseleave", () => r.classList.remove("tip-closed"));
    const key = compKey(name);
    const after = [...box.children].find((x) => before(key, compKey(x.dataset.dim)) < 0);
    box.insertBefore(r, after || null);
    return r;
  }

  const part = (title, ...children) => el("div", { class: "tip-part" }, el("strong", {}, title), ...children);
  const span = (t0, t1) => tr("live_seconds_span", { t0: fmt(t0, 1), t1: fmt(t1, 1) });

  function competencyTip(s) {
    const ev = s.evidence || {};
    const parts = [];
    if (ev.formula) parts.push(part(tr("live_tip_formula"), el("code", {}, ev.formula)));
    const inputs = Object.entries(ev.answer_inputs || {});
    parts.push(part(tr("live_tip_answer"), inputs.length
      ? el("ul", {}, ...inputs.map(([k, v]) => el("li", {}, `${k.replace(/_/g, " ")}: ${typeof v === "number" ? +v.toFixed(2) : v}`)))
      : el("span", {}, ` ${tr("live_tip_no_inputs")}`)));
    if (typeof ev.confidence === "number") parts.push(part(tr("live_tip_confidence"), ` ${Math.round(ev.confidence * 100)}%`));
    if (ev.needs) parts.push(part(tr("live_tip_needed"), ` ${ev.needs}`));
    const items = (ev.evidence || []).slice(0, 5);
    if (items.length) {
      parts.push(part(tr("live_tip_evidence"), el("ul", { class: "evidence" }, ...items.map(([kind, text, t0, t1]) =>
        el("li", {}, el("span", { class: "kind" }, `${kind} `), el("q", {}, text || ""),
          el("span", { class: "when" }, ` ${span(t0, t1)}`))))));
    } else if (ev.status === "interviewer_only") {
      parts.push(part(tr("live_tip_evidence"), ` ${tr("live_tip_interviewer_only")}`));
    }
    return parts;
  }

  function overallTip(s) {
    const ev = s.evidence || {};
    const weights = Object.entries(ev.weights || {});
    const only = (k) => latest[`competency:${k}`]?.evidence?.status === "interviewer_only";
    return [
      part(tr("live_tip_formula"), el("code", {}, tr("live_tip_overall_formula"))),
      part(tr("live_tip_weights"), el("ul", {}, ...weights.map(([k, w]) =>
        el("li", {}, `${labelOf(k)}: ${Math.round(w * 100)}%${only(k) ? ` ${tr("live_tip_not_in_score")}` : ""}`)))),
      part(tr("live_tip_coverage"), ` ${tr("live_coverage", { pct: Math.round((ev.coverage || 0) * 100) })}`),
      ...(ev.missing?.length ? [part(tr("live_tip_needed"), ` ${ev.missing.map(labelOf).join(", ")}`)] : []),
    ];
  }

  function competency(name) {
    const s = latest[name];
    const ev = s.evidence || {};
    const key = compKey(name);
    const r = row(name);
    const label = key === "overall" ? tr("live_overall") : labelOf(key);
    const has = typeof s.value === "number";
    const status = has ? "scored" : ev.status || "insufficient_evidence";
    r.dataset.status = status;
    r.classList.toggle("pending", !has);
    r.setAttribute("aria-label", label);
    r.querySelector(".label").textContent = label;
    const bar = r.querySelector(".bar");
    bar.hidden = !has;
    if (has) {
      bar.setAttribute("aria-valuenow", String(s.value));
      bar.querySelector(".fill").style.width = `${Math.max(0, Math.min(100, s.value))}%`;
    } else {
      bar.removeAttribute("aria-valuenow");
    }
    const pending = maybe(`live_pending_${status}`);
    r.querySelector(".value").textContent = has ? fmt(s.value) : pending || tr("live_pending_insufficient_evidence");
    const trend = r.querySelector(".trend");
    const dir = !has ? 0 : Math.sign(s.trend || 0);
    trend.textContent = dir > 0 ? "▲" : dir < 0 ? "▼" : "";
    if (dir) trend.setAttribute("aria-label", tr(dir > 0 ? "live_rising" : "live_falling"));
    else trend.removeAttribute("aria-label");
    const note = r.querySelector(".note");
    note.textContent = key === "overall" && !has && ev.missing?.length
      ? tr("live_missing", { list: ev.missing.map(labelOf).join(", ") }) : "";
    note.hidden = !note.textContent;
    r.querySelector(".tip").replaceChildren(...(key === "overall" ? overallTip(s) : competencyTip(s)));
  }

  function signal(name, s) {
    let item = signalBox.querySelector(`[data-dim="${CSS.escape(name)}"]`);
    if (!item) {
      const label = maybe(`live_signal_${name}`) || name.replace(/_/g, " ");
      item = el("li", { class: "signal", "data-dim": name },
        el("span", { class: "label" }, label), " ", el("span", { class: "value" }));
      signalBox.append(item);
    }
    const raw = fmt(s.raw);
    item.querySelector(".value").textContent = raw === "–" ? raw : s.unit === "%" ? `${raw}%` : `${raw} ${s.unit}`;
  }

  function render(scores) {
    const comps = [];
    for (const [name, s] of Object.entries(scores || {})) {
      if (name.startsWith("competency:")) {
        latest[name] = s;
        comps.push(name);
      } else {
        signal(name, s);
      }
    }
    if (!comps.length) return;
    // All of a batch is known before any row is placed, so rows land in their final places.
    for (const name of comps) competency(name);
    // The overall names other competencies by their labels, which may have just arrived.
    if (latest["competency:overall"] && !comps.includes("competency:overall")) competency("competency:overall");
  }

  return { render };
}
