"""The README shows the two newcomer commands first and the current code table."""

from __future__ import annotations

from pathlib import Path

from hardcost.codes import readme_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_starts_with_demo_and_test_commands() -> None:
    text = README.read_text()
    first_block = text.split("```")[1]
    assert "make demo" in first_block and "make test" in first_block


def test_readme_code_table_is_generated_from_codes() -> None:
    text = README.read_text()
    between = text.split("<!-- codes:begin -->")[1].split("<!-- codes:end -->")[0]
    assert between.strip() == readme_table().strip()
