// The language of the interviewer's pages (live view, report): the visitor's own choice if
// they made one with the en/中文 switch, else the interview's (its requisition's) language.
import { LANGUAGES } from "/static/i18n.js";

const LANG_KEY = "hirestream:lang"; // i18n.js's key: set only when the visitor chose a language

export function pageLanguage(interviewLanguage) {
  const chosen = localStorage.getItem(LANG_KEY);
  if (LANGUAGES.includes(chosen)) return chosen;
  return LANGUAGES.includes(interviewLanguage) ? interviewLanguage : "en";
}
