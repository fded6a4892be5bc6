// Employees hired through interviews: the interview next to onboarding, probation and
// performance reviews, training, and the follow-ups the rules raise (a person decides them).
import {
  $, el, field, fmt, get, initPage, onSubmit, personName, post, rememberName, report,
  reportInto, select, setStatus, syntheticBadge, syntheticBanner, table, when,
} from "/static/hr-common.js";

const TRAINING = ["suggested", "enrolled", "completed", "dismissed"];
const REVIEW_FIELDS = {
  manager_rating: "manager rating",
  peer_rating: "peer rating",
  task_completion: "task completion",
  rating: "performance rating",
};

function date(iso) {
  return iso ? new Date(`${iso.slice(0, 10)}T00:00:00`).toLocaleDateString() : "–";
}

function label(name) {
  return String(name).replaceAll("_", " ");
}

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
  setStatus(page.total
    ? `${shown} of ${page.total} employee(s)`
    : "No employees yet: they appear when a candidate accepts an offer.");
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
    el("p", {}, el("a", { href: "#", id: "back-to-list" }, "← All employees")),
    el("h2", { id: "emp-name", tabindex: "-1" }, e.name, " ", syntheticBadge(e.synthetic)),
    el("p", { class: "small" }, `${e.title} · started ${date(e.start_date)} · probation ends ${date(e.probation_end)}`),
    ro ? el("p", { class: "notice read-only", id: "read-only" },
      "A synthetic (generated) employee, kept for analytics only: reviews, training and follow-ups cannot be added or changed.") : "",
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
  if (!iv) return section("interview", "Interview", el("p", {}, "No interview report is linked."));
  const box = el("div", { class: "report-inline", hidden: "" });
  const read = el("button", { type: "button", class: "link" }, "Read the interview report");
  read.addEventListener("click", async () => {
    if (!box.hidden) {
      box.hidden = true;
      read.textContent = "Read the interview report";
      return;
    }
    try {
      await reportInto(box, iv.id);
      read.textContent = "Hide the report";
    } catch (err) {
      report(err);
    }
  });
  const flags = (iv.flags || []).map((f) => (typeof f === "string" ? f : f.detail || f.flag || JSON.stringify(f)));
  return section("interview", "Interview",
    el("p", {}, "Overall: ", el("strong", {}, fmt(iv.overall, 1)), ` · report generated ${when(iv.generated_at)}`),
    table(["Competency", "Score (0–100)"],
      Object.entries(iv.competencies).map(([k, val]) => [label(k), fmt(val, 1)]), { class: "competencies" }),
    flags.length ? el("p", { class: "small" }, `Flags: ${flags.join("; ")}`) : "",
    read, box);
}

function onboardingSection(tasks, reload, ro) {
  const rows = tasks.map((t) => {
    const done = t.done_at
      ? `done ${when(t.done_at)}`
      : ro ? "not done"
      : el("button", {
        type: "button",
        class: "small-btn",
        "aria-label": `Mark “${t.title}” done`,
        onclick: async (ev) => {
          ev.target.disabled = true;
          try {
            await post(`/api/onboarding-tasks/${t.id}/done`, {});
            await reload(`Task “${t.title}” done.`, "onboarding-title");
          } catch (err) {
            ev.target.disabled = false;
            report(err);
          }
        },
      }, "Mark done");
    return [t.title, date(t.due_date), done];
  });
  return section("onboarding", "Onboarding tasks",
    tasks.length ? table(["Task", "Due", "Status"], rows, { class: "tasks" }) : el("p", {}, "No onboarding tasks."));
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
    el("h4", {}, "Add a probation review"),
    el("div", { class: "grid" },
      field("Month since the start (0–24)", number("month", 0, 24, 1, 3)),
      field("Manager rating (1–5)", number("manager_rating", 1, 5, 0.5)),
      field("Tasks completed (%)", number("task_completion", 0, 100, 1)),
      field("Peer rating (1–5)", number("peer_rating", 1, 5, 0.5)),
    ),
    field("Manager feedback", el("textarea", { name: "manager_feedback", required: "", maxlength: "4000", rows: "3" })),
    field("Reviewer (your name)", el("input", { name: "reviewer", required: "", maxlength: "200", autocomplete: "name", value: personName() })),
    el("button", { type: "submit" }, "Add probation review"),
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
    await reload(raised("Probation review added.", out.follow_ups), "probation-title");
  });
  return section("probation", "Probation reviews",
    reviews.length
      ? table(["Month", "Manager rating", "Tasks done", "Peer rating", "Feedback", "Reviewer", "Added"], rows, { class: "probation" })
      : el("p", {}, "No probation reviews yet."),
    ro ? "" : form);
}

function raised(message, followUps) {
  return followUps && followUps.length
    ? `${message} ${followUps.length} follow-up(s) raised: see Follow-ups below.`
    : message;
}

function performanceSection(eid, reviews, reload, ro) {
  const rows = reviews.map((r) => [r.period, fmt(r.rating, 1), r.reviewer, r.notes || "", when(r.at)]);
  const form = el("form", { class: "review-form", id: "performance-form" },
    el("h4", {}, "Add a performance review"),
    el("div", { class: "grid" },
      field("Period (e.g. 2027 or 2027-H1)", el("input", { name: "period", required: "", maxlength: "32" })),
      field("Rating (1–5)", number("rating", 1, 5, 0.5)),
    ),
    field("Notes", el("textarea", { name: "notes", maxlength: "4000", rows: "2" })),
    field("Reviewer (your name)", el("input", { name: "reviewer", required: "", maxlength: "200", autocomplete: "name", value: personName() })),
    el("button", { type: "submit" }, "Add performance review"),
  );
  onSubmit(form, async (d) => {
    rememberName(d.get("reviewer"));
    const out = await post(`/api/employees/${eid}/performance-reviews`, {
      period: String(d.get("period")),
      rating: Number(d.get("rating")),
      notes: String(d.get("notes") || ""),
      reviewer: String(d.get("reviewer")),
    });
    await reload(raised("Performance review added.", out.follow_ups), "performance-title");
  });
  return section("performance", "Performance reviews",
    reviews.length ? table(["Period", "Rating", "Reviewer", "Notes", "Added"], rows, { class: "performance" })
      : el("p", {}, "No performance reviews yet."),
    ro ? "" : form);
}

// A training record's status: a select and an explicit Save (nothing is sent on a change).
function trainingStatus(t, reload) {
  const s = select("status", TRAINING, t.status);
  s.setAttribute("aria-label", `Status of ${t.course}`);
  const save = el("button", { type: "button", class: "small-btn", "aria-label": `Save the status of ${t.course}` }, "Save");
  const error = el("span", { class: "form-error", role: "alert" });
  save.addEventListener("click", async () => {
    error.textContent = "";
    if (s.value === t.status) {
      error.textContent = "Unchanged: choose another status first.";
      return;
    }
    s.disabled = save.disabled = true;
    try {
      await post(`/api/training/${t.id}`, { status: s.value });
      await reload(`Training “${t.course}”: ${s.value}.`, "training-title");
    } catch (err) {
      s.value = t.status; // back to what is stored
      s.disabled = save.disabled = false;
      if (err.status !== 401) error.textContent = `Not saved: ${err.message || err}`;
      s.focus();
    }
  });
  return el("span", { class: "training-status" }, s, " ", save, " ", error);
}

function trainingSection(eid, records, reload, ro) {
  const rows = records.map((t) => [t.course, ro ? t.status : trainingStatus(t, reload),
    t.follow_up_id ? "suggested by a follow-up" : "added by HR", when(t.at),
    t.completed_at ? when(t.completed_at) : "–"]);
  const form = el("form", { class: "training-form" },
    el("h4", {}, "Add training"),
    el("div", { class: "grid" },
      field("Course", el("input", { name: "course", required: "", maxlength: "200" })),
      field("Status", select("status", TRAINING, "enrolled")),
    ),
    el("button", { type: "submit" }, "Add training"),
  );
  onSubmit(form, async (d) => {
    await post(`/api/employees/${eid}/training`, { course: String(d.get("course")), status: String(d.get("status")) });
    await reload("Training added.", "training-title");
  });
  return section("training", "Training",
    records.length ? table(["Course", "Status", "Origin", "Since", "Completed"], rows, { class: "training" })
      : el("p", {}, "No training records."),
    ro ? "" : form);
}

const OPS = { "<": "below", "<=": "at or below", ">": "above", ">=": "at or above" };

// A stored rule condition as words: the old numbers ("below 60") or the comparisons.
function condition(item, legacy, legacyWord) {
  if (item.condition) {
    return Object.entries(item.condition).map(([op, n]) => `${OPS[op] || op} ${n}`).join(" and ");
  }
  return `${legacyWord} ${item[legacy]}`;
}

function reviewItem(source, r) {
  const name = source === "probation" ? "Probation" : "Performance";
  if (r.mentions) {
    return el("li", {}, `${name} review ${label(r.field)} mentions ${r.mentions.map((m) => `“${m}”`).join(", ")}: `,
      el("q", {}, r.excerpt || ""));
  }
  if (r.similarity != null) {
    return el("li", {}, `${name} review ${label(r.field)} close in meaning to “${r.similar_to}” (similarity ${fmt(r.similarity, 2)}, needed ${fmt(r.min_similarity, 2)}): `,
      el("q", {}, r.excerpt || ""));
  }
  const value = fmt(r.value, r.field === "task_completion" ? 0 : 1);
  return el("li", {}, `${name} review: ${REVIEW_FIELDS[r.field] || label(r.field)} ${value} (${condition(r, "at_or_below", "at or below")})`);
}

function evidenceList(ev) {
  const items = [];
  for (const i of ev.interview || []) {
    const snippets = (i.evidence || []).map((s) => el("li", {},
      el("q", {}, s.text || ""),
      s.start != null ? el("span", { class: "small" }, ` (${fmt(s.start, 1)}–${fmt(s.end, 1)} s${s.kind ? `, ${s.kind}` : ""})`) : ""));
    items.push(el("li", {},
      `Interview ${label(i.competency)}: ${fmt(i.value, 0)} (${condition(i, "below", "below")})`,
      snippets.length ? el("ul", { class: "snippets" }, ...snippets) : el("span", { class: "small" }, " — no evidence snippets stored")));
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
      el("p", {}, `Suggested course: ${f.course} · state: ${f.state}${f.decided_by ? ` (by ${f.decided_by})` : ""} · raised ${when(f.created_at)}`),
      el("p", { class: "small" }, "Evidence:"),
      evidenceList(f.evidence || {}));
    if (f.state === "open" && !ro) {
      const by = el("input", { name: "by", required: "", maxlength: "200", autocomplete: "name", value: personName() });
      const form = el("form", { class: "follow-up-form" },
        field("Decided by (your name)", by),
        el("button", { type: "submit", name: "accept", value: "1" }, "Accept: enrol in the course"), " ",
        el("button", { type: "submit", name: "accept", value: "0", class: "secondary" }, "Dismiss"));
      // onSubmit disables both buttons while the request runs; the submitter says which.
      onSubmit(form, async (d, submitter) => {
        const accept = !submitter || submitter.value !== "0";
        rememberName(d.get("by"));
        try {
          await post(`/api/follow-ups/${f.id}`, { accept, by: String(d.get("by")) });
        } catch (err) {
          if (err.status !== 409) throw err;
          // decided meanwhile (another tab or person): show how it stands now
          await reload(`Not recorded: ${err.message}`, "followups-title", "error");
          return;
        }
        await reload(accept ? "Follow-up accepted." : "Follow-up dismissed.", "followups-title");
      });
      card.append(form);
    }
    return card;
  });
  return section("followups", "Follow-ups",
    el("p", { class: "small" }, "Raised when an interview signal and a later review together match a rule. A suggestion, not a verdict: a person accepts or dismisses it."),
    ...(cards.length ? cards : [el("p", {}, "No follow-ups.")]));
}

window.addEventListener("hashchange", () => route().catch(report));
$("data").addEventListener("change", () => {
  const q = new URLSearchParams(location.search);
  q.set("data", $("data").value);
  history.replaceState(null, "", `${location.pathname}?${q}`);
  list().catch(report);
});
initPage(route);
