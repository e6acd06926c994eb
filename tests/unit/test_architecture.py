"""The README's parts and arrows and the import contracts make check runs are one list: a contract added,
dropped or renamed on one side only fails here."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def contracts() -> dict[str, str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {c["id"]: c["name"] for c in config["contracts"]}


def readme_arrows() -> dict[str, str]:
    readme = (REPO / "README.md").read_text()
    section = readme.split("### The parts and the arrows", 1)[1].split("\n### ", 1)[0]
    bullets = re.findall(r"^- \*\*([a-z-]+)\*\*: (.+?)(?=^- |\Z)", section, flags=re.M | re.S)
    return {key: " ".join(text.split()) for key, text in bullets}


def test_every_contract_is_in_the_readme_and_every_arrow_there_is_a_contract() -> None:
    assert sorted(readme_arrows()) == sorted(contracts())


def test_the_readme_says_what_each_contract_says() -> None:
    arrows = readme_arrows()
    for key, name in contracts().items():
        assert arrows[key].replace("`", "").startswith(name), key


def test_the_layers_are_listed_in_the_readme_in_the_contracts_order() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["id"] == "layers")["layers"]
    drawn = re.findall(r"`([^`]+)`", readme_arrows()["layers"])
    assert drawn == layers
