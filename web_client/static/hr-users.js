// People and API keys (/hr/users): who may sign in, with which roles (organisation-wide, or a
// hiring manager's requisitions and an interviewer's interviews); adding a person or a new
// sign-in link gives a one-time link to send them; integrations' keys are created with the
// scopes they need, shown once, and revoked here.
import {
  $, can, currentMe, del, el, field, get, initPage, onSubmit, patch, post, select, setStatus, table, tr, trOr, when,
} from "/static/hr-common.js";

let contract = null; // GET /api/roles: roles, actions (with descriptions), scoped roles, key scopes
let requisitions = []; // [{id, title}] for the scoped roles' pickers and labels
let candidates = new Map(); // interview id -> candidate name, for interviewers' labels

const roleName = (role) => trOr(`hr_role_${role}`, role);
const actionName = (action) => trOr(`hr_action_${action.replace(":", "_")}`, contract?.actions[action] || action);
const requisitionTitle = (id) => requisitions.find((r) => r.id === id)?.title || id;
const plural = (n, key) => tr(n === 1 ? `${key}_one` : `${key}_many`, { n });

// A role label ("hiring_manager:requisition=<id>") in words, the requisition by its title.
function roleLabel(label) {
  const [head, scope] = label.split(":");
  const role = roleName(head);
  if (!scope) return role;
  const [kind, id] = scope.split("=");
  if (kind === "requisition") return tr("hr_role_for_requisition", { role, what: requisitionTitle(id) });
  const name = candidates.get(id);
  return name ? tr("hr_role_for_interview_with", { role, what: name }) : tr("hr_role_for_interview", { role, what: id });
}

function checkLine(value, text, checked = false, name = "role") {
  const box = el("input", { type: "checkbox", name, value });
  box.checked = checked;
  return [box, el("label", { class: "check-line" }, box, " ", text)];
}

// The roles picker: organisation-wide roles as checkboxes; scoped roles by choosing a
// requisition (or typing an interview id); an existing scoped grant stays until unticked.
function rolePicker(current = []) {
  const scoped = contract.scoped || {};
  const checks = [];
  const box = el("fieldset", { class: "role-picker" }, el("legend", {}, tr("hr_users_roles")));
  const kept = current.filter((l) => l.includes(":"));
  if (kept.length) {
    const now = el("fieldset", {}, el("legend", {}, tr("hr_users_current_roles")));
    for (const label of kept) {
      const [c, line] = checkLine(label, roleLabel(label), true);
      checks.push(c);
      now.append(line);
    }
    box.append(now);
  }
  const org = el("fieldset", {}, el("legend", {}, tr("hr_users_org_roles")));
  for (const role of contract.roles.filter((r) => !(r in scoped))) {
    const [c, line] = checkLine(role, roleName(role), current.includes(role));
    checks.push(c);
    org.append(line);
  }
  box.append(org);
  const options = [["", tr("hr_users_none")], ...requisitions.map((r) => [r.id, r.title])];
  const adders = [];
  const canScope = (role, kind) => (scoped[role] || []).includes(kind);
  if (canScope("hiring_manager", "requisition")) {
    const s = select("hm_requisition", options, "");
    box.append(field(tr("hr_users_hm_for"), s));
    adders.push(() => s.value && `hiring_manager:requisition=${s.value}`);
  }
  if (canScope("interviewer", "requisition")) {
    const s = select("iv_requisition", options, "");
    box.append(field(tr("hr_users_iv_for_req"), s));
    adders.push(() => s.value && `interviewer:requisition=${s.value}`);
  }
  if (canScope("interviewer", "interview")) {
    const input = el("input", { name: "iv_interview", maxlength: "32", pattern: "[a-f0-9]+", autocomplete: "off", size: "34" });
    box.append(field(tr("hr_users_iv_for_iv"), input));
    adders.push(() => input.value.trim() && `interviewer:interview=${input.value.trim()}`);
  }
  const labels = () => [...new Set([...checks.filter((c) => c.checked).map((c) => c.value), ...adders.map((f) => f()).filter(Boolean)])];
  return { node: box, labels };
}

// A secret shown once (a sign-in link or an API key) with a copy button. The caller puts it
// on the page and focuses its input, so that it is read out and can be copied at once.
function shownOnce(label, note, value, cls) {
  const input = el("input", { type: "text", readonly: "", value, class: cls });
  const copy = el("button", { type: "button", class: "secondary small-btn" }, tr("hr_copy"));
  const done = el("span", { class: "small", role: "status" });
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(value);
    } catch {
      input.select();
      document.execCommand("copy");
    }
    done.textContent = tr("hr_copied");
  });
  const box = el("div", { class: "one-time" }, field(label, input), note ? el("p", { class: "small" }, note) : "",
    copy, " ", done);
  return box;
}

function linkBox(name, url) {
  return shownOnce(tr("hr_users_link_title", { name }), tr("hr_users_link_note"), url, "setup-link");
}

function statusText(u) {
  const parts = [];
  if (u.disabled) parts.push(tr("hr_users_disabled"));
  else if (u.locked_until && new Date(u.locked_until) > new Date()) parts.push(tr("hr_users_locked", { when: when(u.locked_until) }));
  else parts.push(tr("hr_users_active"));
  if (u.sso) parts.push(tr("hr_users_sso"));
  else if (!u.has_password) parts.push(tr("hr_users_no_password"));
  return parts.join(" · ");
}

function openPanel(title, ...body) {
  $("panel-title").textContent = title;
  $("panel-body").replaceChildren(...body);
  $("panel").hidden = false;
  $("panel-title").focus();
}

function closePanel() {
  $("panel").hidden = true;
  $("panel-body").replaceChildren();
}

function editRoles(u) {
  const picker = rolePicker(u.roles);
  const form = el("form", { class: "roles-form" }, picker.node, el("button", { type: "submit" }, tr("hr_users_save_roles")));
  onSubmit(form, async () => {
    const roles = picker.labels();
    if (!roles.length) throw new Error(tr("hr_users_need_role"));
    const saved = await patch(`/api/users/${encodeURIComponent(u.id)}`, { roles });
    closePanel();
    await loadPeople();
    setStatus(tr("hr_users_saved", { name: saved.name }));
  });
  openPanel(tr("hr_users_panel", { action: tr("hr_users_change_roles"), name: u.name }), form);
}

function newLink(u) {
  const [totp, line] = checkLine("1", tr("hr_users_reset_totp"), false, "totp");
  const form = el("form", { class: "reset-form" }, line, el("button", { type: "submit" }, tr("hr_users_reset_submit")));
  onSubmit(form, async () => {
    const { setup_url: url } = await post(`/api/users/${encodeURIComponent(u.id)}/reset`, { totp: totp.checked });
    const box = linkBox(u.name, url);
    form.replaceWith(box);
    box.querySelector("input").focus();
    await loadPeople();
  });
  openPanel(tr("hr_users_panel", { action: tr("hr_users_reset"), name: u.name }), form);
}

async function setDisabled(u, disabled) {
  if (disabled && !confirm(tr("hr_users_disable_confirm", { name: u.name }))) return;
  const saved = await patch(`/api/users/${encodeURIComponent(u.id)}`, { disabled });
  await loadPeople();
  setStatus(tr("hr_users_saved", { name: saved.name }));
}

function rowActions(u) {
  const button = (key, cls, handler) => {
    const b = el("button", { type: "button", class: `secondary small-btn ${cls}` }, tr(key));
    b.addEventListener("click", () => handler().catch((err) => setStatus(err.message || String(err), "error")));
    return b;
  };
  return el("div", { class: "actions" },
    button("hr_users_change_roles", "edit-roles", async () => editRoles(u)),
    u.disabled ? button("hr_users_enable", "enable", () => setDisabled(u, false))
      : button("hr_users_disable", "disable", () => setDisabled(u, true)),
    button("hr_users_reset", "reset", async () => newLink(u)));
}

async function loadPeople() {
  const people = await get("/api/users");
  const mine = currentMe()?.id;
  const rows = people.map((u) => [
    el("span", {}, u.name, u.id === mine ? ` ${tr("hr_users_you")}` : ""),
    u.email,
    el("ul", {}, ...u.roles.map((l) => el("li", { "data-role": l }, roleLabel(l)))),
    statusText(u),
    tr(u.totp_enabled ? "hr_users_totp_on" : "hr_users_totp_off"),
    u.last_sign_in_at ? when(u.last_sign_in_at) : tr("hr_users_never"),
    rowActions(u),
  ]);
  const t = table([tr("hr_col_name"), tr("hr_col_email"), tr("hr_col_roles"), tr("hr_col_status"),
    tr("hr_col_two_factor"), tr("hr_col_last_sign_in"), tr("hr_col_actions")], rows, { id: "people-table" });
  t.querySelectorAll("tbody tr").forEach((row, i) => { row.dataset.email = people[i].email; });
  $("people").replaceChildren(t);
  setStatus(plural(people.length, "hr_users_count"));
}

function addForm() {
  const picker = rolePicker();
  const name = el("input", { name: "name", required: "", maxlength: "200", autocomplete: "off" });
  const email = el("input", { name: "email", type: "email", required: "", maxlength: "254", autocomplete: "off" });
  const form = el("form", { id: "add-form" },
    el("div", { class: "grid" }, field(tr("hr_users_name"), name), field(tr("hr_users_email"), email)),
    picker.node, el("button", { type: "submit" }, tr("hr_users_add_submit")));
  onSubmit(form, async () => {
    const roles = picker.labels();
    if (!roles.length) throw new Error(tr("hr_users_need_role"));
    const { user, setup_url: url } = await post("/api/users", { email: email.value.trim(), name: name.value.trim(), roles });
    const box = linkBox(user.name, url);
    $("one-time").replaceChildren(box);
    box.querySelector("input").focus();
    form.reset();
    await loadPeople();
  });
  return form;
}

async function loadKeys() {
  const keys = await get("/api/keys");
  if (!keys.length) {
    $("keys").replaceChildren(el("p", {}, tr("hr_keys_none")));
    return;
  }
  const rows = keys.map((k) => {
    let action = "–";
    if (!k.revoked_at) {
      action = el("button", { type: "button", class: "danger small-btn revoke" }, tr("hr_keys_revoke"));
      action.addEventListener("click", () => revoke(k).catch((err) => setStatus(err.message || String(err), "error")));
    }
    return [
      k.name,
      el("ul", {}, ...k.scopes.map((s) => el("li", { "data-scope": s }, actionName(s)))),
      k.created_by,
      when(k.created_at),
      k.last_used_at ? when(k.last_used_at) : tr("hr_users_never"),
      k.revoked_at ? tr("hr_keys_revoked", { when: when(k.revoked_at) }) : tr("hr_keys_active"),
      action,
    ];
  });
  const t = table([tr("hr_col_name"), tr("hr_col_scopes"), tr("hr_col_created_by"), tr("hr_col_created"),
    tr("hr_col_last_used"), tr("hr_col_status"), tr("hr_col_actions")], rows, { id: "keys-table" });
  $("keys").replaceChildren(t);
}

async function revoke(k) {
  if (!confirm(tr("hr_keys_revoke_confirm", { name: k.name }))) return;
  await del(`/api/keys/${encodeURIComponent(k.id)}`);
  await loadKeys();
}

function keyForm() {
  const name = el("input", { name: "key_name", required: "", maxlength: "200", autocomplete: "off" });
  const scopes = el("fieldset", { class: "scopes" }, el("legend", {}, tr("hr_keys_scopes")));
  const checks = contract.key_scopes.map((s) => {
    const [c, line] = checkLine(s, actionName(s), false, "scope");
    scopes.append(line);
    return c;
  });
  const form = el("form", { id: "key-form" }, field(tr("hr_keys_name"), name), scopes,
    el("button", { type: "submit" }, tr("hr_keys_create")));
  onSubmit(form, async () => {
    const chosen = checks.filter((c) => c.checked).map((c) => c.value);
    if (!chosen.length) throw new Error(tr("hr_keys_need_scope"));
    const created = await post("/api/keys", { name: name.value.trim(), scopes: chosen });
    const box = shownOnce(tr("hr_keys_shown_once", { name: created.name }), null, created.key, "api-key");
    $("key-shown").replaceChildren(box);
    box.querySelector("input").focus();
    form.reset();
    await loadKeys();
  });
  return form;
}

async function start() {
  const me = currentMe();
  contract = await get("/api/roles");
  // Requisition titles and candidates' names label the scoped roles; without access, ids do.
  requisitions = can(me, "requisitions:read") ? await get("/api/requisitions").catch(() => []) : [];
  if (can(me, "interviews:read")) {
    const rows = await get("/api/interviews?data=real").catch(() => []);
    candidates = new Map(rows.map((r) => [r.id, r.candidate_name]));
  }
  if (can(me, "users:manage")) {
    $("people-section").hidden = false;
    $("add").replaceChildren(el("div", { id: "one-time" }), addForm());
    await loadPeople();
  }
  if (can(me, "keys:manage")) {
    $("keys-section").hidden = false;
    $("key-add").replaceChildren(keyForm());
    await loadKeys();
  }
}

initPage(start);
