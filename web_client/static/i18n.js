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

// The language a page is shown in: the visitor's choice (kept in this browser), else the
// browser's language when it is one of ours, else English.
const LANG_KEY = "hirestream:lang";

export function chosenLanguage() {
  const stored = localStorage.getItem(LANG_KEY);
  if (LANGUAGES.includes(stored)) return stored;
  const nav = (navigator.language || "en").toLowerCase().split("-")[0];
  return LANGUAGES.includes(nav) ? nav : "en";
}

// The BCP 47 tag for <html lang> and Intl (dates, numbers).
export function locale(lang) {
  return lang === "zh" ? "zh-CN" : "en";
}

// A visible en/中文 switch: each language named in itself; choosing one remembers it and
// reloads the page (the hash, query and tab's sign-in stay).
export function languageSwitch(lang, label) {
  const group = document.createElement("div");
  group.className = "lang-switch";
  group.setAttribute("role", "group");
  group.setAttribute("aria-label", label);
  for (const [code, name] of [["en", "English"], ["zh", "中文"]]) {
    const b = document.createElement("button");
    b.type = "button";
    b.lang = locale(code);
    b.dataset.lang = code;
    b.textContent = name;
    b.setAttribute("aria-pressed", String(code === lang));
    b.addEventListener("click", () => {
      if (code === lang) return;
      localStorage.setItem(LANG_KEY, code);
      location.reload();
    });
    group.append(b);
  }
  return group;
}

// Static text in the HTML: data-i18n (text) and data-i18n-<attr> (aria-label, title,
// placeholder) name catalogue keys.
export function applyText(root, lang) {
  document.documentElement.lang = locale(lang);
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(lang, node.dataset.i18n);
  for (const attr of ["aria-label", "title", "placeholder"]) {
    for (const node of root.querySelectorAll(`[data-i18n-${attr}]`)) {
      node.setAttribute(attr, t(lang, node.getAttribute(`data-i18n-${attr}`)));
    }
  }
}
