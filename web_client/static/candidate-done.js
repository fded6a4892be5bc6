// After the interview: what happens next, a link to the job offer when one waits (the offer
// has its own page), and the voluntary self-identification while it is still open.
import { api, el } from "/static/common.js";
import { optionLabel } from "/static/i18n.js";
import { contactLine, page, say, show } from "/static/candidate-ui.js";

// An interview the server lost or closed without a report: say where it stands.
export function closed(state) {
  const title = state === "interrupted" ? "interrupted_title" : "done_title";
  show(el("h1", { id: "closed" }, say(title)), el("p", { id: "closed-text" }, say(state)), contactLine());
}

export function done(id, token) {
  const after = el("div", { id: "after-interview" });
  // The closing line waits for what follows: "you can close this page" is not said above an
  // offer that is waiting for an answer.
  const closing = el("p", { id: "done-text" }, say("done"));
  const steps = el("section", { id: "next-steps", "aria-labelledby": "next-steps-title" },
    el("h2", { id: "next-steps-title" }, say("next_steps_title")),
    el("ul", {}, ...say("next_steps").map((s) => el("li", {}, s))),
    contactLine());
  show(el("h1", { id: "done" }, say("done_title")), closing, steps, after);
  afterInterview(id, token, after, closing).catch((err) => {
    console.error(err);
    after.append(el("p", { class: "form-error", role: "alert" }, say("offer_load_error")));
  });
}

async function afterInterview(id, token, box, closing) {
  let offer = null;
  try {
    offer = await api(`/api/interviews/${id}/job-offer?as=candidate`, token);
  } catch (err) {
    if (err.status !== 404) throw err; // 404: no offer, the finish screen stays as it is
  }
  const waiting = offer && offer.state === "sent";
  closing.textContent = say(waiting ? "done_offer_waiting" : "done_closable");
  if (offer) {
    // The token stays in this tab's storage under the same interview id, so the link needs none.
    box.append(el("p", { id: "offer-link-line" }, el("a", { href: `/offer/${id}`, id: "offer-link" }, say("offer_open"))));
  }
  let ask;
  if (offer) ask = offer.self_id_open === true && !offer.self_id_answered;
  else {
    const status = await api(`/api/interviews/${id}/self-id`, token);
    ask = status.open === true && !status.answered;
  }
  if (!ask) return;
  let options;
  try {
    options = await api("/api/self-id/options", token);
  } catch {
    return; // the options are static; without them the optional form is simply left out
  }
  box.append(selfIdForm(id, token, options));
}

function selfIdForm(id, token, options) {
  const choice = (field, labelKey) => {
    const sel = el("select", { id: `selfid-${field}`, name: field },
      el("option", { value: "" }, say("selfid_skip_option")),
      ...options[field].map((v) => el("option", { value: v }, optionLabel(page.lang, v))));
    return el("div", { class: "field" }, el("label", { for: sel.id }, say(labelKey)), sel);
  };
  const errorBox = el("p", { class: "form-error", role: "alert" });
  const skip = el("button", { type: "button", id: "selfid-skip", class: "secondary" }, say("selfid_skip"));
  const form = el("form", { id: "selfid-form" },
    choice("sex", "selfid_sex"),
    choice("race_ethnicity", "selfid_race"),
    el("div", { class: "actions" }, el("button", { type: "submit", id: "selfid-submit" }, say("selfid_submit")), " ", skip),
    errorBox);
  const section = el("section", { id: "self-id", "aria-labelledby": "selfid-title", class: "voluntary" },
    el("h2", { id: "selfid-title" }, say("selfid_title")),
    el("p", { id: "selfid-why" }, say("selfid_why")),
    form);
  const finish = (key) => {
    section.replaceChildren(el("h2", { id: "selfid-title", tabindex: "-1" }, say("selfid_title")),
      el("p", { id: "selfid-done" }, say(key)));
    section.querySelector("h2").focus();
  };
  skip.addEventListener("click", () => finish("selfid_skipped"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const sex = data.get("sex") || null;
    const race = data.get("race_ethnicity") || null;
    if (sex === null && race === null) return finish("selfid_skipped");
    errorBox.textContent = "";
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => (b.disabled = true));
    try {
      await api(`/api/interviews/${id}/self-id`, token, { sex, race_ethnicity: race });
      finish("selfid_thanks");
    } catch (err) {
      // 409: a decision was made meanwhile, so the questions are closed (nothing was stored)
      if (err.status === 409) return finish("selfid_closed");
      buttons.forEach((b) => (b.disabled = false));
      errorBox.textContent = say("selfid_error");
    }
  });
  return section;
}
