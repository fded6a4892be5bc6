// Employees hired through interviews: the interview next to onboarding, probation and
// performance reviews, training, and the follow-ups the rules raise (a person decides them).
import {
  $, competency, day as date, el, field, fmt, get, initPage, onSubmit, personName, post,
  rememberName, report, reportInto, select, setStatus, syntheticBadge, syntheticBanner, table, tr,
  trOr, when,
} from "/static/hr-common.js";

// Training states: the stored value stays English, its label follows the page's language.
const TRAINING = ["suggested", "enrolled", "completed", "dismissed"].map((v) => [v, tr(`hr_training_${v}`)]);
const trainingName = (v) => trOr(`hr_training_${v}`, v);
const fieldName = (f) => trOr(`hr_field_${f}`, String(f).replaceAll("_", " "));
const followUpState = (s) => trOr(`hr_fu_state_${s}`, s);

// The employee shown is in the fragment (#12). A link with ?id=12 is moved there first, so
// that "← All employees" (#) and the browser's Back button both work the same way.
function adoptQueryId() {
  const q = new URLSearchParams(location.search);
  const fromQuery = q.get("id");
  if (!fromQuery) return;
  q.delete("id");
  const rest = q.toString();
  const hash = location.hash.slice(1) || fromQuery;
  history.replaceState(null, "", `${location.pathname}${rest ? `?${rest}` : ""}#${hash}`);
}

function selectedId() {
  return location.hash.slice(1);
}


async function route() {
  adoptQueryId();
  const id = selectedId();
  if (id) {
    $("list-section").hidden = true;
    await showEmployee(id);
  } else {
    $("employee").hidden = true;
    $("list-section").hidden = false;
    await list();
  }
}

const PAGE = 100;

function dataChoice() {
  const v = new URLSearchParams(location.search).get("data");
  return ["real", "synthetic", "all"].includes(v) ? v : "real";
}

function employeeRow(e) {
  return el("tr", { "data-id": String(e.id) },
    el("td", {}, el("a", { href: `#${e.id}` }, e.name), " ", syntheticBadge(e.synthetic)),
    el("td", {}, e.title),
    el("td", {}, date(e.start_date)),
    el("td", {}, date(e.probation_end)),
  );
}

async function list(offset = 0) {
  const data = dataChoice();
  $("data").value = data;
  const page = await get(`/api/employees?data=${data}&limit=${PAGE}&offset=${offset}`);
  const body = $("employees").querySelector("tbody");
  const rows = page.employees.map(employeeRow);
  if (offset === 0) body.replaceChildren(...rows);
  else body.append(...rows);
  const shown = body.children.length;
  $("more").hidden = shown >= page.total;
  $("more").onclick = () => list(shown).then(() => {
    // the first new row takes the focus (the button may have gone)
    const first = body.children[shown];
    if (first) first.querySelector("a").focus();
  }).catch(report);
  setStatus(page.total ? tr("hr_emp_count", { shown, total: page.total }) : tr("hr_emp_none"));
}

async function showEmployee(id, focusId) {
  const v = await get(`/api/employees/${encodeURIComponent(id)}`);
  const e = v.employee;
  const art = $("employee");
  const reload = (message, focus, kind = "") => showEmployee(id, focus)
    .then(() => message && setStatus(message, kind));
  // Synthetic employees are kept for analytics: nothing on them can be changed (the server
  // refuses it too), so the forms are left out.
  const ro = Boolean(e.synthetic);
  art.replaceChildren(
    el("p", {}, el("a", { href: "#", id: "back-to-list" }, `← ${tr("hr_emp_all")}`)),
    el("h2", { id: "emp-name", tabindex: "-1" }, e.name, " ", syntheticBadge(e.synthetic)),
    el("p", { class: "small" }, e.title, ` · ${tr("hr_emp_dates", { start: date(e.start_date), end: date(e.probation_end) })}`),
    ro ? el("p", { class: "notice read-only", id: "read-only" }, tr("hr_emp_synthetic_read_only")) : "",
    interviewSection(v.interview),
    onboardingSection(v.onboarding, reload, ro),
    probationSection(e.id, v.probation_reviews, reload, ro),
    performanceSection(e.id, v.performance_reviews, reload, ro),
    trainingSection(e.id, v.training, reload, ro),
    followUpSection(v.follow_ups, reload, ro),
  );
  syntheticBanner(art, e.synthetic);
  art.hidden = false;
  setStatus("");
  const focus = (focusId && document.getElementById(focusId)) || $("emp-name");
  focus.focus();
}

function section(id, title, ...children) {
  return el("section", { id, "aria-labelledby": `${id}-title` }, el("h3", { id: `${id}-title`, tabindex: "-1" }, title), ...children);
}

function interviewSection(iv) {
  if (!iv) return section("interview", tr("hr_emp_interview"), el("p", {}, tr("hr_emp_no_report")));
  const box = el("div", { class: "report-inline", hidden: "" });
  const read = el("button", { type: "button", class: "link" }, tr("hr_read_report"));
  read.addEventListener("click", async () => {
    if (!box.hidden) {
      box.hidden = true;
      read.textContent = tr("hr_read_report");
      return;
    }
    try {
      await reportInto(box, iv.id);
      read.textContent = tr("hr_hide_report");
    } catch (err) {
      report(err);
    }
  });
  const flags = (iv.flags || []).map((f) => (typeof f === "string" ? f : f.detail || f.flag || JSON.stringify(f)));
  return section("interview", tr("hr_emp_interview"),
    el("p", {}, `${tr("hr_emp_overall")} `, el("strong", {}, fmt(iv.overall, 1)),
      ` · ${tr("hr_emp_generated", { when: when(iv.generated_at) })}`),
    table([tr("hr_col_competency"), tr("hr_col_score")],
      Object.entries(iv.competencies).map(([k, val]) => [competency(k), fmt(val, 1)]), { class: "competencies" }),
    flags.length ? el("p", { class: "small" }, tr("hr_emp_flags", { flags: flags.join("; ") })) : "",
    read, box);
}

// The standard onboarding tasks are stored with their English titles; their kind names them
// in the page's language (a task HR titled itself keeps its title).
function taskTitle(t) {
  return trOr(`hr_task_${t.kind}`, t.title);
}

function onboardingSection(tasks, reload, ro) {
  const rows = tasks.map((t) => {
    const done = t.done_at
      ? tr("hr_task_done_at", { when: when(t.done_at) })
      : ro ? tr("hr_task_not_done")
      : el("button", {
        type: "button",
        class: "small-btn",
        "aria-label": tr("hr_task_mark_label", { title: taskTitle(t) }),
        onclick: async (ev) => {
          ev.target.disabled = true;
          try {
            await post(`/api/onboarding-tasks/${t.id}/done`, {});
            await reload(tr("hr_task_done_msg", { title: taskTitle(t) }), "onboarding-title");
          } catch (err) {
            ev.target.disabled = false;
            report(err);
          }
        },
      }, tr("hr_task_mark"));
    return [taskTitle(t), date(t.due_date), done];
  });
  return section("onboarding", tr("hr_onboarding"),
    tasks.length ? table([tr("hr_col_task"), tr("hr_col_due"), tr("hr_col_status")], rows, { class: "tasks" })
      : el("p", {}, tr("hr_onboarding_none")));
}

function number(name, min, max, step, value) {
  const input = el("input", { type: "number", name, min: String(min), max: String(max), step: String(step), required: "" });
  if (value != null) input.value = String(value);
  return input;
}

function probationSection(eid, reviews, reload, ro) {
  const rows = reviews.map((r) => [String(r.month), fmt(r.manager_rating, 1), `${fmt(r.task_completion, 0)}%`,
    fmt(r.peer_rating, 1), r.manager_feedback, r.reviewer, when(r.at)]);
  const form = el("form", { class: "review-form", id: "probation-form" },
    el("h4", {}, tr("hr_prob_add_title")),
    el("div", { class: "grid" },
      field(tr("hr_prob_month"), number("month", 0, 24, 1, 3)),
      field(tr("hr_prob_manager"), number("manager_rating", 1, 5, 0.5)),
      field(tr("hr_prob_tasks"), number("task_completion", 0, 100, 1)),
      field(tr("hr_prob_peer"), number("peer_rating", 1, 5, 0.5)),
    ),
    field(tr("hr_prob_feedback"), el("textarea", { name: "manager_feedback", required: "", maxlength: "4000", rows: "3" })),
    field(tr("hr_reviewer"), el("input", { name: "reviewer", required: "", maxlength: "200", autocomplete: "name", value: personName() })),
    el("button", { type: "submit" }, tr("hr_prob_add")),
  );
  onSubmit(form, async (d) => {
    rememberName(d.get("reviewer"));
    const out = await post(`/api/employees/${eid}/probation-reviews`, {
      month: Number(d.get("month")),
      manager_rating: Number(d.get("manager_rating")),
      task_completion: Number(d.get("task_completion")),
      peer_rating: Number(d.get("peer_rating")),
      manager_feedback: String(d.get("manager_feedback")),
      reviewer: String(d.get("reviewer")),
    });
    await reload(raised(tr("hr_prob_added"), out.follow_ups), "probation-title");
  });
  return section("probation", tr("hr_prob_title"),
    reviews.length
      ? table([tr("hr_col_month"), tr("hr_col_manager_rating"), tr("hr_col_tasks_done"), tr("hr_col_peer_rating"),
        tr("hr_col_feedback"), tr("hr_col_reviewer"), tr("hr_col_added")], rows, { class: "probation" })
      : el("p", {}, tr("hr_prob_none")),
    ro ? "" : form);
}

function raised(message, followUps) {
  return followUps && followUps.length
    ? `${message} ${tr("hr_followups_raised", { n: followUps.length })}`
    : message;
}

function performanceSection(eid, reviews, reload, ro) {
  const rows = reviews.map((r) => [r.period, fmt(r.rating, 1), r.reviewer, r.notes || "", when(r.at)]);
  const form = el("form", { class: "review-form", id: "performance-form" },
    el("h4", {}, tr("hr_perf_add_title")),
    el("div", { class: "grid" },
      field(tr("hr_perf_period"), el("input", { name: "period", required: "", maxlength: "32" })),
      field(tr("hr_perf_rating"), number("rating", 1, 5, 0.5)),
    ),
    field(tr("hr_perf_notes"), el("textarea", { name: "notes", maxlength: "4000", rows: "2" })),
    field(tr("hr_reviewer"), el("input", { name: "reviewer", required: "", maxlength: "200", autocomplete: "name", value: personName() })),
    el("button", { type: "submit" }, tr("hr_perf_add")),
  );
  onSubmit(form, async (d) => {
    rememberName(d.get("reviewer"));
    const out = await post(`/api/employees/${eid}/performance-reviews`, {
      period: String(d.get("period")),
      rating: Number(d.get("rating")),
      notes: String(d.get("notes") || ""),
      reviewer: String(d.get("reviewer")),
    });
    await reload(raised(tr("hr_perf_added"), out.follow_ups), "performance-title");
  });
  return section("performance", tr("hr_perf_title"),
    reviews.length ? table([tr("hr_col_period"), tr("hr_col_rating"), tr("hr_col_reviewer"), tr("hr_col_notes"),
      tr("hr_col_added")], rows, { class: "performance" })
      : el("p", {}, tr("hr_perf_none")),
    ro ? "" : form);
}

// A training record's status: a select and an explicit Save (nothing is sent on a change).
function trainingStatus(t, reload) {
  const s = select("status", TRAINING, t.status);
  s.setAttribute("aria-label", tr("hr_training_status_of", { course: t.course }));
  const save = el("button", { type: "button", class: "small-btn", "aria-label": tr("hr_training_save_label", { course: t.course }) },
    tr("hr_save"));
  const error = el("span", { class: "form-error", role: "alert" });
  save.addEventListener("click", async () => {
    error.textContent = "";
    if (s.value === t.status) {
      error.textContent = tr("hr_training_unchanged");
      return;
    }
    s.disabled = save.disabled = true;
    try {
      await post(`/api/training/${t.id}`, { status: s.value });
      await reload(tr("hr_training_saved", { course: t.course, status: trainingName(s.value) }), "training-title");
    } catch (err) {
      s.value = t.status; // back to what is stored
      s.disabled = save.disabled = false;
      if (err.status !== 401) error.textContent = tr("hr_not_saved", { msg: err.message || err });
      s.focus();
    }
  });
  return el("span", { class: "training-status" }, s, " ", save, " ", error);
}

function trainingSection(eid, records, reload, ro) {
  const rows = records.map((t) => [t.course, ro ? trainingName(t.status) : trainingStatus(t, reload),
    t.follow_up_id ? tr("hr_training_from_followup") : tr("hr_training_from_hr"), when(t.at),
    t.completed_at ? when(t.completed_at) : "–"]);
  const form = el("form", { class: "training-form" },
    el("h4", {}, tr("hr_training_add_title")),
    el("div", { class: "grid" },
      field(tr("hr_col_course"), el("input", { name: "course", required: "", maxlength: "200" })),
      field(tr("hr_col_status"), select("status", TRAINING, "enrolled")),
    ),
    el("button", { type: "submit" }, tr("hr_training_add")),
  );
  onSubmit(form, async (d) => {
    await post(`/api/employees/${eid}/training`, { course: String(d.get("course")), status: String(d.get("status")) });
    await reload(tr("hr_training_added"), "training-title");
  });
  return section("training", tr("hr_training_title"),
    records.length ? table([tr("hr_col_course"), tr("hr_col_status"), tr("hr_col_origin"), tr("hr_col_since"),
      tr("hr_col_completed")], rows, { class: "training" })
      : el("p", {}, tr("hr_training_none")),
    ro ? "" : form);
}

const OPS = { "<": "hr_op_lt", "<=": "hr_op_le", ">": "hr_op_gt", ">=": "hr_op_ge" };

// A stored rule condition as words: the old numbers ("below 60") or the comparisons.
function condition(item, legacy, legacyOp) {
  if (item.condition) {
    return Object.entries(item.condition).map(([op, n]) => trOr(OPS[op], `${op} {n}`, { n })).join(tr("hr_op_and"));
  }
  return tr(OPS[legacyOp], { n: item[legacy] });
}

function reviewItem(source, r) {
  const review = tr(source === "probation" ? "hr_ev_probation" : "hr_ev_performance");
  const name = fieldName(r.field);
  if (r.mentions) {
    return el("li", {}, tr("hr_ev_mentions", { review, field: name, words: r.mentions.map((m) => `“${m}”`).join(", ") }),
      " ", el("q", {}, r.excerpt || ""));
  }
  if (r.similarity != null) {
    return el("li", {}, tr("hr_ev_similar", { review, field: name, to: r.similar_to, sim: fmt(r.similarity, 2),
      min: fmt(r.min_similarity, 2) }), " ", el("q", {}, r.excerpt || ""));
  }
  const value = fmt(r.value, r.field === "task_completion" ? 0 : 1);
  return el("li", {}, tr("hr_ev_value", { review, field: name, value, condition: condition(r, "at_or_below", "<=") }));
}

// An evidence kind such as "filler" or "structure:result": the kind in the page's language,
// the rubric's own word after the colon as written.
function evidenceKind(kind) {
  const [head, ...rest] = String(kind).split(":");
  return [trOr(`hr_ev_kind_${head}`, head), ...rest].join(": ");
}

function evidenceList(ev) {
  const items = [];
  for (const i of ev.interview || []) {
    const snippets = (i.evidence || []).map((s) => el("li", {},
      el("q", {}, s.text || ""),
      s.start != null ? el("span", { class: "small" },
        ` (${tr("hr_ev_span", { start: fmt(s.start, 1), end: fmt(s.end, 1) })}${s.kind ? `, ${evidenceKind(s.kind)}` : ""})`) : ""));
    items.push(el("li", {},
      tr("hr_ev_interview", { competency: competency(i.competency), value: fmt(i.value, 0), condition: condition(i, "below", "<") }),
      snippets.length ? el("ul", { class: "snippets" }, ...snippets) : el("span", { class: "small" }, ` — ${tr("hr_ev_no_snippets")}`)));
  }
  for (const source of ["probation", "performance"]) {
    for (const r of ev[source] || []) items.push(reviewItem(source, r));
  }
  return el("ul", { class: "evidence" }, ...items);
}

function followUpSection(followUps, reload, ro) {
  const cards = followUps.map((f) => {
    const card = el("article", { class: "follow-up", "data-state": f.state },
      el("h4", {}, f.title),
      el("p", {}, tr(f.decided_by ? "hr_fu_line_by" : "hr_fu_line",
        { course: f.course, state: followUpState(f.state), by: f.decided_by, when: when(f.created_at) })),
      el("p", { class: "small" }, tr("hr_fu_evidence")),
      evidenceList(f.evidence || {}));
    if (f.state === "open" && !ro) {
      const by = el("input", { name: "by", required: "", maxlength: "200", autocomplete: "name", value: personName() });
      const form = el("form", { class: "follow-up-form" },
        field(tr("hr_decided_by"), by),
        el("button", { type: "submit", name: "accept", value: "1" }, tr("hr_fu_accept")), " ",
        el("button", { type: "submit", name: "accept", value: "0", class: "secondary" }, tr("hr_fu_dismiss")));
      // onSubmit disables both buttons while the request runs; the submitter says which.
      onSubmit(form, async (d, submitter) => {
        const accept = !submitter || submitter.value !== "0";
        rememberName(d.get("by"));
        try {
          await post(`/api/follow-ups/${f.id}`, { accept, by: String(d.get("by")) });
        } catch (err) {
          if (err.status !== 409) throw err;
          // decided meanwhile (another tab or person): show how it stands now
          await reload(tr("hr_not_recorded", { msg: err.message }), "followups-title", "error");
          return;
        }
        await reload(tr(accept ? "hr_fu_accepted" : "hr_fu_dismissed"), "followups-title");
      });
      card.append(form);
    }
    return card;
  });
  return section("followups", tr("hr_fu_title"),
    el("p", { class: "small" }, tr("hr_fu_help")),
    ...(cards.length ? cards : [el("p", {}, tr("hr_fu_none"))]));
}

window.addEventListener("hashchange", () => route().catch(report));
$("data").addEventListener("change", () => {
  const q = new URLSearchParams(location.search);
  q.set("data", $("data").value);
  history.replaceState(null, "", `${location.pathname}?${q}`);
  list().catch(report);
});
initPage(route);
