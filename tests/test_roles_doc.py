"""The README's role table is the access contract's own table (hr_bridge.roles), not a copy
kept by hand."""

from __future__ import annotations

from pathlib import Path

from hr_bridge.roles import markdown_table

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_role_table_is_generated_from_the_code() -> None:
    text = README.read_text()
    block = text.split("<!-- roles:begin -->\n", 1)[1].split("\n<!-- roles:end -->", 1)[0]
    assert block == markdown_table(), "regenerate with `python -m hr_bridge.roles`"
