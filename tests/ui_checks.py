"""Page checks any browser test can apply: no English left on a page shown in another language,
and WCAG contrast of every visible text.

    from tests.ui_checks import contrast_ok, no_english_left

    await no_english_left(page, allow={"Ada Lovelace", interview_id})
    await contrast_ok(page)

Both read the page as the browser shows it (computed styles, visible elements only) and fail
with every finding listed, so one run says everything that is wrong."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from playwright.async_api import Page

# Latin-script words that may stay in a page in any language: names of things that are not
# translated (the product, formats, statistics symbols). Keep short; user data goes in `allow`.
ALWAYS_ALLOWED = frozenset(
    {
        "hirestream",  # the product
        "English",  # the language switch names each language in itself
        "AI",
        "API",
        "HR",
        "CSV",
        "JSON",
        "ok",
        "OK",
        "n",  # statistics: sample size, Pearson r, p-value, t test
        "r",
        "p",
        "t",
        "H",  # a period such as 2027-H1 in a field's example
        "CI",  # confidence interval, beside the Chinese for it
        "SHA",  # SHA-256, the fingerprint an offer names
        "Tab",  # keys as printed on the keyboard
        "Esc",
        "Enter",
    }
)
# Latin letters, accented ones included (not the × and ÷ among them).
WORD = re.compile(r"[A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F]+")
# The minimum contrast for text of any size (WCAG 1.4.3, applied to large text too).
MIN_CONTRAST = 4.5


@dataclass(frozen=True)
class Finding:
    where: str  # a short path to the element: tag#id.class
    source: str  # text, aria-label, title, placeholder, value, alt, option, document title
    text: str


# Every visible piece of text on the page with where it comes from.
_TEXTS_JS = """
() => {
  const out = [];
  const path = (el) => {
    const parts = [];
    for (let n = el; n && n.nodeType === 1 && parts.length < 4; n = n.parentElement) {
      parts.unshift(n.tagName.toLowerCase() + (n.id ? `#${n.id}` : "")
        + (n.classList.length ? `.${[...n.classList].join(".")}` : ""));
    }
    return parts.join(" > ");
  };
  const shown = (el) => el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })
    && el.getClientRects().length > 0;
  const skip = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE"]);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    const text = node.nodeValue.trim();
    if (!text || !parent || skip.has(parent.tagName)) continue;
    if (parent.closest("option")) continue; // options: with their select, below
    if (!shown(parent)) continue;
    out.push({ where: path(parent), source: "text", text });
  }
  for (const el of document.body.querySelectorAll("*")) {
    if (!shown(el)) continue;
    for (const attr of ["aria-label", "title", "placeholder", "alt"]) {
      const v = el.getAttribute(attr);
      if (v && v.trim()) out.push({ where: path(el), source: attr, text: v.trim() });
    }
    const isButtonInput = el.tagName === "INPUT" && ["submit", "button", "reset"].includes(el.type);
    if ((el.tagName === "BUTTON" || isButtonInput) && el.value && el.value.trim()) {
      // a <button>'s value is sent, not shown; an <input type=submit>'s is its label
      if (isButtonInput) out.push({ where: path(el), source: "value", text: el.value.trim() });
    }
    if (el.tagName === "SELECT") {
      for (const o of el.options) {
        if (o.text.trim()) out.push({ where: path(el), source: "option", text: o.text.trim() });
      }
    }
  }
  const title = document.title.trim();
  if (title) out.push({ where: "head > title", source: "document title", text: title });
  return out;
}
"""


def allowed_words(allow: Iterable[str]) -> set[str]:
    """The Latin words of each allowed string (a name, a job title, an email, an id)."""
    words = set(ALWAYS_ALLOWED)
    for item in allow:
        words.update(WORD.findall(item))
    return words


async def english_left(page: Page, allow: Iterable[str] = ()) -> list[Finding]:
    """Every visible text (and label-like attribute) with a Latin-letter word that is neither
    always allowed nor part of `allow` (the test's own data: names, titles, emails, ids)."""
    ok = allowed_words(allow)
    found: list[Finding] = []
    for item in await page.evaluate(_TEXTS_JS):
        bad = [w for w in WORD.findall(item["text"]) if w not in ok]
        if bad:
            found.append(Finding(item["where"], item["source"], item["text"][:160]))
    return found


async def no_english_left(page: Page, allow: Iterable[str] = ()) -> None:
    """Fail, listing each one, if any visible text still has a word in Latin letters that the
    catalogue should have translated (see english_left)."""
    found = await english_left(page, allow)
    assert not found, "English left on the page:\n" + "\n".join(
        f"  {f.where} [{f.source}]: {f.text!r}" for f in found
    )


# The contrast of each visible element that shows text of its own (a text node child, or a
# form control's value or placeholder), from computed colours: the text colour with the
# opacity of its ancestors, over the background found by compositing the element's and its
# ancestors' background colours up to the first opaque one. A gradient background counts
# with each of its colours (the worst one decides).
_CONTRAST_JS = """
() => {
  const parse = (s) => {
    const m = s.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (top, bottom) => {
    const a = top.a + bottom.a * (1 - top.a);
    if (a === 0) return { r: 0, g: 0, b: 0, a: 0 };
    const mix = (k) => (top[k] * top.a + bottom[k] * bottom.a * (1 - top.a)) / a;
    return { r: mix("r"), g: mix("g"), b: mix("b"), a };
  };
  const lum = (c) => {
    const ch = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * ch(c.r) + 0.7152 * ch(c.g) + 0.0722 * ch(c.b);
  };
  const ratio = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const gradientColours = (img) => [...img.matchAll(/rgba?\\([^)]+\\)/g)].map((m) => parse(m[0]));
  // The backgrounds behind an element: one colour, or several where a gradient is involved.
  const backgrounds = (el) => {
    const layers = [];
    for (let n = el; n; n = n.parentElement) {
      const cs = getComputedStyle(n);
      const img = cs.backgroundImage;
      if (img && img !== "none" && img.includes("gradient")) {
        layers.push({ options: gradientColours(img) });
        break; // gradients here are opaque bands
      }
      const c = parse(cs.backgroundColor);
      if (c && c.a > 0) {
        layers.push({ options: [c] });
        if (c.a >= 1) break;
      }
    }
    let results = [{ r: 255, g: 255, b: 255, a: 1 }]; // the canvas
    for (const layer of layers.reverse()) {
      const next = [];
      for (const below of results) for (const top of layer.options) next.push(over(top, below));
      results = next;
    }
    return results;
  };
  const opacity = (el) => {
    let o = 1;
    for (let n = el; n; n = n.parentElement) o *= Number(getComputedStyle(n).opacity);
    return o;
  };
  const path = (el) => el.tagName.toLowerCase() + (el.id ? `#${el.id}` : "")
    + (el.classList.length ? `.${[...el.classList].join(".")}` : "");
  const shown = (el) => el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })
    && el.getClientRects().length > 0;
  const out = [];
  const check = (el, colourText, label, sample) => {
    const fg = parse(colourText);
    if (!fg) return;
    fg.a *= opacity(el);
    let worst = Infinity;
    for (const bg of backgrounds(el)) worst = Math.min(worst, ratio(over(fg, bg), bg));
    out.push({ where: path(el), what: label, text: sample.slice(0, 80),
      ratio: Math.round(worst * 100) / 100, disabled: Boolean(el.disabled) });
  };
  for (const el of document.body.querySelectorAll("*")) {
    if (["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "OPTION"].includes(el.tagName)) continue;
    if (!shown(el)) continue;
    const own = [...el.childNodes].filter((n) => n.nodeType === 3 && n.nodeValue.trim())
      .map((n) => n.nodeValue.trim()).join(" ");
    const cs = getComputedStyle(el);
    if (own) check(el, cs.color, "text", own);
    const control = ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName)
      && !["hidden", "checkbox", "radio", "range", "color", "file", "image"].includes(el.type);
    if (control) {
      const value = el.tagName === "SELECT" ? (el.selectedOptions[0]?.text || "") : el.value;
      if (value && value.trim()) check(el, cs.color, "value", value);
      else if (el.placeholder) {
        check(el, getComputedStyle(el, "::placeholder").color, "placeholder", el.placeholder);
      }
    }
  }
  return out;
}
"""


async def contrast_report(page: Page) -> list[dict[str, Any]]:
    """The contrast ratio of every visible text on the page (see _CONTRAST_JS)."""
    result: list[dict[str, Any]] = await page.evaluate(_CONTRAST_JS)
    return result


async def contrast_ok(page: Page, minimum: float = MIN_CONTRAST) -> int:
    """Fail, listing each one, if any visible text (disabled controls and placeholders
    included) has less than `minimum` contrast with its background; returns how many texts
    were checked (so a test can tell that the page had something to check)."""
    checked = await contrast_report(page)
    low = [c for c in checked if c["ratio"] < minimum]
    assert not low, f"Text under {minimum}:1 contrast:\n" + "\n".join(
        f"  {c['where']} [{c['what']}{', disabled' if c['disabled'] else ''}]"
        f" {c['ratio']}:1 {c['text']!r}"
        for c in low
    )
    return len(checked)


# The focused element's outline: style, width in px, and its contrast with the background
# around the element (the ring is drawn outside it, over the parent's background).
_FOCUS_JS = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const cs = getComputedStyle(el);
  const parse = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const ch = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b);
  };
  let bg = [255, 255, 255];
  for (let n = el.parentElement; n; n = n.parentElement) {
    const c = parse(getComputedStyle(n).backgroundColor);
    if (c.length >= 3 && (c.length < 4 || c[3] > 0)) { bg = c.slice(0, 3); break; }
  }
  const [x, y] = [lum(parse(cs.outlineColor)), lum(bg)].sort((p, q) => q - p);
  return { tag: el.tagName.toLowerCase(), style: cs.outlineStyle,
    width: parseFloat(cs.outlineWidth), ratio: Math.round(((x + 0.05) / (y + 0.05)) * 100) / 100 };
}
"""


async def focus_visible(page: Page) -> dict[str, Any]:
    """Fail unless the focused element shows an outline at least 2 px wide with 3:1 contrast
    against the background around it (WCAG 2.4.7 and 1.4.11); returns what was measured."""
    ring: dict[str, Any] | None = await page.evaluate(_FOCUS_JS)
    assert ring is not None, "nothing has the focus"
    assert ring["style"] not in ("none", "hidden") and ring["width"] >= 2, ring
    assert ring["ratio"] >= 3, ring
    return ring
