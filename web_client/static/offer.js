// The job offer on its own page (/offer/{id}#token=...): the facts once, in the interview
// language's formats (Intl), the full text that is accepted, and the answer.
import { api, el, interviewId, takeToken } from "/static/common.js";
import {
  fail, linkProblem, loadContact, locale, page, problemFor, say, setLanguage, show,
} from "/static/candidate-ui.js";

const id = interviewId();
const token = takeToken("candidate");

function money(value, currency) {
  try {
    return new Intl.NumberFormat(locale(), { style: "currency", currency, maximumFractionDigits: 0 }).format(value);
  } catch {
    return new Intl.NumberFormat(locale()).format(value);
  }
}

// "2027-01-04" is a calendar date: formatted in UTC so no time zone moves it by a day.
function day(isoDate) {
  return new Intl.DateTimeFormat(locale(), { dateStyle: "long", timeZone: "UTC" })
    .format(new Date(`${isoDate}T00:00:00Z`));
}

function moment(iso) {
  return iso ? new Intl.DateTimeFormat(locale(), { dateStyle: "long", timeStyle: "short" }).format(new Date(iso)) : "";
}

async function main() {
  setLanguage(page.lang, "offer_page_title");
  await loadContact();
  if (!token) return linkProblem("link_no_token");
  let offer;
  let info;
  try {
    info = await api(`/api/interviews/${id}?as=candidate`, token);
    setLanguage(info.requisition.language, "offer_page_title");
    offer = await api(`/api/interviews/${id}/job-offer?as=candidate`, token);
  } catch (err) {
    if (err.status === 404 && /offer/i.test(err.message)) return linkProblem("offer_missing");
    const key = problemFor(err);
    if (key) return linkProblem(key);
    throw err;
  }
  const closing = el("p", { id: "done-text" });
  closingLine(closing, offer);
  show(el("h1", { id: "offer-page" }, say("offer_heading", { title: info.requisition.title })), closing,
    offerView(offer, closing));
  document.getElementById("offer-title").focus();
}

function closingLine(node, offer) {
  node.textContent = say(offer.state === "sent" ? "offer_waiting" : "offer_closable");
}

function fingerprint(offer) {
  return el("p", { class: "small", id: "offer-fingerprint" },
    say("offer_fingerprint", { sha: offer.text_sha256.slice(0, 12) }));
}

// The offer; `closing` is the page's closing line, updated once the offer is answered.
function offerView(offer, closing) {
  const section = el("section", { id: "offer", "aria-labelledby": "offer-title" });
  const heading = (key) => el("h2", { id: "offer-title", tabindex: "-1" }, say(key));
  if (offer.state === "accepted") {
    section.append(heading("offer_accepted_title"),
      el("p", { id: "offer-accepted" }, say("offer_accepted", { time: moment(offer.answered_at), name: offer.accepted_name || "" })),
      fingerprint(offer));
    return section;
  }
  if (offer.state === "declined") {
    section.append(heading("offer_declined_title"),
      el("p", { id: "offer-declined" }, say("offer_declined", { time: moment(offer.answered_at) })));
    return section;
  }
  if (offer.state === "withdrawn") {
    section.append(heading("offer_title"), el("p", { id: "offer-withdrawn" }, say("offer_withdrawn")));
    return section;
  }
  const name = el("input", { id: "typed-name", type: "text", autocomplete: "name", required: "",
    maxlength: "200", "aria-describedby": "typed-name-help" });
  const accept = el("button", { id: "accept-offer", type: "submit" }, say("offer_accept"));
  const decline = el("button", { id: "decline-offer", type: "button", class: "secondary" }, say("offer_decline"));
  const errorBox = el("p", { id: "offer-error", class: "form-error", role: "alert" });
  const form = el("form", { id: "offer-form" },
    el("label", { for: "typed-name" }, say("offer_type_name")),
    el("p", { class: "small", id: "typed-name-help" }, say("offer_type_help", { name: offer.candidate_name })),
    name, el("div", { class: "actions" }, accept, " ", decline), errorBox);
  const answer = async (acceptIt) => {
    errorBox.textContent = "";
    accept.disabled = decline.disabled = true;
    try {
      const out = await api(`/api/interviews/${id}/job-offer/answer`, token, {
        accept: acceptIt,
        typed_name: acceptIt ? name.value : "",
        text_sha256: offer.text_sha256,
      });
      const answered = { ...offer, ...out };
      const next = offerView(answered, closing);
      section.replaceWith(next);
      closingLine(closing, answered);
      next.querySelector("#offer-title").focus();
    } catch (err) {
      const key = err.status === 409 ? "offer_conflict"
        : err.status === 400 && acceptIt ? "offer_wrong_name" : "offer_error";
      errorBox.textContent = say(key, { name: offer.candidate_name });
      accept.disabled = decline.disabled = false;
      if (err.status === 400) name.focus();
    }
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!name.value.trim()) {
      errorBox.textContent = say("offer_name_needed");
      name.focus();
      return;
    }
    answer(true);
  });
  decline.addEventListener("click", () => {
    if (confirm(say("offer_decline_confirm"))) answer(false);
  });
  // The facts once, formatted for the language; the full text (with the same facts, as
  // written into the document that is fingerprinted) opens on request.
  section.append(
    heading("offer_title"),
    el("dl", { class: "offer-facts", id: "offer-facts" },
      el("dt", {}, say("offer_salary")), el("dd", { id: "offer-salary" }, money(offer.salary, offer.currency)),
      el("dt", {}, say("offer_start")), el("dd", { id: "offer-start" }, day(offer.start_date)),
      el("dt", {}, say("offer_probation")), el("dd", {}, say("offer_months", { n: offer.probation_months }))),
    el("details", { id: "offer-document" },
      el("summary", {}, say("offer_document")),
      el("pre", { class: "offer-text", id: "offer-text" }, offer.text)),
    fingerprint(offer),
    form);
  return section;
}

main().catch(fail);
