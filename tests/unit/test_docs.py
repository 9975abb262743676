"""The README is the user's reference: its configuration table documents every setting (and
nothing that is not one) with the environment variables that really set it, and its commands
table lists every ``gateway`` command. Settings and commands are public interfaces (CHANGELOG):
an undocumented one is a bug.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from gateway.cli import _parser
from gateway.settings import Settings, env_vars

README = Path(__file__).resolve().parents[2] / "README.md"
SETTINGS = {f.name for f in dataclasses.fields(Settings)}


def section(title: str) -> str:
    """The text of the README's ``## title`` section."""
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match is not None, f"README has no '## {title}' section"
    return match[1]


def table_rows(text: str) -> list[list[str]]:
    """Cells of every Markdown table row (header and separator rows excluded)."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not re.fullmatch(r"\|[\s|:-]+\|", line):
            cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))  # `a\|b` is one cell
            rows.append([cell.strip() for cell in cells])
    return [row for row in rows if row[0] not in ("setting", "command")]


def ticked(cell: str) -> set[str]:
    return set(re.findall(r"`([^`]+)`", cell))


def configuration_rows() -> list[tuple[set[str], set[str]]]:
    """(settings, environment variables) named by each row of the configuration table."""
    rows = table_rows(section("Configuration"))
    return [(ticked(row[0]), {v for v in ticked(row[1]) if v.startswith("GATEWAY_")}) for row in rows]


def documented_settings() -> set[str]:
    return {name for names, _ in configuration_rows() for name in names}


def test_every_setting_is_in_the_readme_configuration_table() -> None:
    missing = SETTINGS - documented_settings()
    assert not missing, f"settings missing from the README configuration table: {sorted(missing)}"


def test_the_readme_configuration_table_documents_only_real_settings() -> None:
    stale = documented_settings() - SETTINGS
    assert not stale, f"README documents settings that do not exist: {sorted(stale)}"


def test_the_readme_names_only_environment_variables_that_set_the_setting() -> None:
    for names, documented in configuration_rows():
        real = {var for name in names & SETTINGS for var in env_vars(name)}
        assert documented <= real, f"{sorted(names)}: README names {sorted(documented - real)}"


def test_every_command_is_in_the_readme_commands_table() -> None:
    commands = next(a for a in _parser()._actions if a.dest == "command").choices
    assert commands is not None
    documented = {
        word.split()[1] for row in table_rows(section("Commands")) for word in ticked(row[0]) if " " in word
    }
    missing = set(commands) - documented
    assert not missing, f"commands missing from the README commands table: {sorted(missing)}"
