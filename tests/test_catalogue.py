"""The message catalogue as the browser loads it (web_client/static/i18n.js and its area files
under messages/): every key in both languages in each area, no key in two areas, Chinese
text that differs from the English except for a few names, the same {placeholders} in both,
and every key the HR pages name literally present."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from server.settings import Settings
from tests.test_browser_hr import _app, _chromium

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parent.parent / "web_client" / "static"
LANGUAGES = ("en", "zh")
# Values that are the same in every language: names that are not translated.
SAME_IN_EVERY_LANGUAGE = frozenset({"hirestream", "OK", "CSV", "JSON", "n", "p", "r"})
PLACEHOLDER = re.compile(r"\{(\w+)\}")

_LOAD_JS = """
async () => {
  const m = await import("/static/i18n.js");
  return { areas: m.AREAS, languages: m.LANGUAGES };
}
"""


def _flat(table: dict[str, Any]) -> dict[str, Any]:
    """Top-level keys, with the nested option labels as options.<value>."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key == "options" and isinstance(value, dict):
            out.update({f"options.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


Areas = dict[str, dict[str, dict[str, Any]]]


async def _areas(make_settings: Callable[..., Settings]) -> Areas:
    """The catalogue's areas as the browser loads them: area -> language -> flat table."""
    async with _app(make_settings) as run, _chromium() as browser:
        page = await browser.new_page()
        await page.goto(run.base + "/")
        loaded = await page.evaluate(_LOAD_JS)
    assert list(loaded["languages"]) == list(LANGUAGES)
    return {
        area: {lang: _flat(tables.get(lang, {})) for lang in LANGUAGES}
        for area, tables in loaded["areas"].items()
    }


async def test_every_key_in_every_language(make_settings: Callable[..., Settings]) -> None:
    areas = await _areas(make_settings)
    assert {"candidate", "live", "hr"} <= set(areas)
    problems = []
    for area, tables in areas.items():
        for lang in LANGUAGES:
            for other in LANGUAGES:
                # an option's English label may be left out: the stored value is English
                missing = sorted(
                    k
                    for k in set(tables[other]) - set(tables[lang])
                    if not (lang == "en" and k.startswith("options."))
                )
                if missing:
                    problems.append(f"{area}/{lang} lacks {missing}")
        assert tables["en"], f"{area} has no English text"
    assert not problems, "\n".join(problems)


async def test_no_key_in_two_areas(make_settings: Callable[..., Settings]) -> None:
    areas = await _areas(make_settings)
    owner: dict[str, str] = {}
    clashes = []
    for area, tables in areas.items():
        for key in {k for lang in LANGUAGES for k in tables[lang]}:
            if key in owner:
                clashes.append(f"{key}: {owner[key]} and {area}")
            owner[key] = area
    assert not clashes, "\n".join(sorted(clashes))


async def test_chinese_is_translated_with_the_same_placeholders(
    make_settings: Callable[..., Settings],
) -> None:
    areas = await _areas(make_settings)
    untranslated, placeholders = [], []
    for area, tables in areas.items():
        for key, en in tables["en"].items():
            if key not in tables["zh"]:
                continue  # reported by test_every_key_in_every_language
            zh = tables["zh"][key]
            en_s, zh_s = _strings(en), _strings(zh)
            if len(en_s) != len(zh_s):
                placeholders.append(
                    f"{area}.{key}: {len(en_s)} paragraphs in en, {len(zh_s)} in zh"
                )
            for e, z in zip(en_s, zh_s, strict=False):
                if e == z and e not in SAME_IN_EVERY_LANGUAGE:
                    untranslated.append(f"{area}.{key}: {e!r}")
                if set(PLACEHOLDER.findall(e)) != set(PLACEHOLDER.findall(z)):
                    placeholders.append(f"{area}.{key}: {e!r} / {z!r}")
    assert not untranslated, "zh equals en:\n" + "\n".join(untranslated)
    assert not placeholders, "placeholders differ:\n" + "\n".join(placeholders)


# Literal HR keys in the pages' scripts and markup ("hr_x" strings, data-i18n="hr_x"); keys
# built from a prefix and a server value (hr_state_${state}) end in "_" here and are skipped.
HR_FILES = [
    "hr.html",
    "hr-requisitions.html",
    "hr-employees.html",
    "hr-analytics.html",
    "index.html",
    "hr.js",
    "hr-common.js",
    "hr-requisitions.js",
    "hr-employees.js",
    "hr-analytics.js",
    "status.js",
]
HR_KEY = re.compile(r"[\"`](hr_[a-z0-9_]+)[\"`]")


async def test_hr_pages_name_only_keys_that_exist(make_settings: Callable[..., Settings]) -> None:
    areas = await _areas(make_settings)
    used = {
        key
        for name in HR_FILES
        for key in HR_KEY.findall((STATIC / name).read_text(encoding="utf-8"))
        if not key.endswith("_")
    }
    assert len(used) > 100  # the pages really are read
    hr = set(areas["hr"]["en"])
    # a count's sentence is named without its _one/_many ending
    missing = sorted(k for k in used if k not in hr and not {f"{k}_one", f"{k}_many"} <= hr)
    assert not missing, f"keys used by the HR pages but not in messages/hr.js: {missing}"
