// The message catalogue: every page's text in every language, one lookup. Each area keeps its
// messages in its own file under messages/ (keys must not repeat across areas: a test checks
// that, and that every language has every key).
import { CANDIDATE } from "/static/messages/candidate.js";
import { HR } from "/static/messages/hr.js";
import { LIVE } from "/static/messages/live.js";

export const AREAS = { candidate: CANDIDATE, live: LIVE, hr: HR };
export const LANGUAGES = ["en", "zh"];

function merge(lang) {
  const out = {};
  for (const area of Object.values(AREAS)) {
    const table = area[lang] || {};
    for (const [key, value] of Object.entries(table)) {
      if (key === "options") out.options = { ...(out.options || {}), ...value };
      else out[key] = value;
    }
  }
  return out;
}

export const TEXT = Object.fromEntries(LANGUAGES.map((lang) => [lang, merge(lang)]));

export function t(lang, key, vars = {}) {
  const table = TEXT[lang] || TEXT.en;
  const value = table[key] ?? TEXT.en[key];
  if (Array.isArray(value)) return value.map((s) => fill(s, vars));
  return fill(value, vars);
}

// The label of a self-identification option (the stored value stays the same in every language).
export function optionLabel(lang, value) {
  const table = (TEXT[lang] || TEXT.en).options || {};
  return table[value] ?? TEXT.en.options[value] ?? value;
}

function fill(s, vars) {
  return s.replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? "");
}
