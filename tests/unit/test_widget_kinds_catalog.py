"""Widget-kind settings and app files are validated at load: a mistake is a ``path:line`` error
naming the key, never a widget that renders nothing in Workspace."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.catalog import load_catalog
from gateway.errors import CatalogError

PRICES = """/*
---
name: Prices
type: chart
params:
  - {paramName: ticker, type: text, value: AAPL}
chart:
  kind: line
  x: date
  y: close
---
*/
SELECT date, close FROM prices WHERE symbol = :ticker
"""
PROFILE = (
    PRICES.replace("name: Prices", "name: Profile")
    .replace("type: chart", "type: table")
    .replace("chart:\n  kind: line\n  x: date\n  y: close\n", "")
)


def problems(root: Path) -> list[str]:
    with pytest.raises(CatalogError) as info:
        load_catalog(root, {"default": "sqlite"})
    return [f"{p.path.name}:{p.line}: {p.message}" for p in info.value.problems]


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_valid_kinds_and_app_load(tmp_path: Path) -> None:
    app = "name: Desk\ntabs:\n  - name: Main\n    layout:\n      - {i: prices}\n      - {i: profile}\n"
    app += "groups:\n  - {paramName: ticker, defaultValue: MSFT}\n"
    catalog = load_catalog(
        write(tmp_path, {"prices.sql": PRICES, "profile.sql": PROFILE, "apps/desk.yaml": app}),
        {"default": "sqlite"},
    )
    (desk,) = catalog.apps
    assert desk.document["groups"][0]["widgetIds"] == ["prices", "profile"]
    assert [i["x"] for i in desk.document["tabs"]["main"]["layout"]] == [0, 20]


def test_a_chart_without_x_is_an_error_on_the_chart_line(tmp_path: Path) -> None:
    text = PRICES.replace("  x: date\n", "")
    assert problems(write(tmp_path, {"p.sql": text})) == [
        f"p.sql:{line_of(text, 'chart:')}: a line chart needs chart.x"
    ]


def test_chart_settings_on_a_table_are_an_error(tmp_path: Path) -> None:
    text = PRICES.replace("type: chart", "type: table")
    (problem,) = problems(write(tmp_path, {"p.sql": text}))
    assert problem.startswith(f"p.sql:{line_of(text, 'chart:')}: chart settings need type: chart")


def test_type_chart_without_a_chart_block_is_an_error(tmp_path: Path) -> None:
    text = PROFILE.replace("type: table", "type: chart")
    (problem,) = problems(write(tmp_path, {"p.sql": text}))
    assert (
        problem == f"p.sql:{line_of(text, 'type: chart')}: type: chart needs a chart: block (kind, x, y...)"
    )


def test_a_markdown_syntax_error_points_inside_the_template(tmp_path: Path) -> None:
    text = PROFILE.replace(
        "type: table", "type: markdown\nmarkdown: |\n  # {{ row.name }}\n  {% if row %}\n  open"
    )
    (problem,) = problems(write(tmp_path, {"m.sql": text}))
    assert problem.startswith(f"m.sql:{line_of(text, 'open')}: markdown template:")


def test_a_markdown_unknown_filter_is_an_error(tmp_path: Path) -> None:
    text = PROFILE.replace("type: table", "type: markdown\nmarkdown: '{{ row.x | nosuchfilter }}'")
    (problem,) = problems(write(tmp_path, {"m.sql": text}))
    assert "nosuchfilter" in problem
    assert problem.startswith(f"m.sql:{line_of(text, 'markdown:')}:")


@pytest.mark.parametrize(
    ("app", "needle", "message"),
    [
        ("name: A\ntabs:\n  - name: T\n    layout:\n      - {i: nope}\n", "nope", "unknown widget 'nope'"),
        (
            "name: A\ntabs:\n  - name: T\n    layout:\n      - {i: prices, x: 30, y: 0, w: 20}\n",
            "x: 30",
            "x + w must fit the 40-column grid",
        ),
        (
            "name: A\ntabs:\n  - name: T\n    layout:\n      - {i: prices}\n      - {i: profile}\n"
            "groups:\n  - {paramName: sector}\n",
            "paramName: sector",
            "fewer than two widgets",
        ),
        (
            "name: A\ntabs:\n  - name: T\n    layout:\n      - {i: prices}\n"
            "groups:\n  - {paramName: ticker, widgetIds: [prices, profile]}\n",
            "widgetIds",
            "widget 'profile' is not in this app",
        ),
        (
            "name: A\ntabs:\n  - name: T\n    layout: []\n  - name: T\n    layout: []\n",
            "- name: T",
            "tab id 't' is empty or repeated",
        ),
        (
            "name: A\ntabs:\n  - name: T\n    layout:\n      - {i: prices, colour: red}\n",
            "colour",
            "unknown key 'colour'",
        ),
        ("name: A\ntabs:\n\t- name: T\n", "\t- name", "invalid YAML"),
    ],
)
def test_app_file_mistakes_are_reported_with_file_and_line(
    tmp_path: Path, app: str, needle: str, message: str
) -> None:
    write(tmp_path, {"prices.sql": PRICES, "profile.sql": PROFILE, "apps/a.yaml": app})
    (problem,) = problems(tmp_path)
    line = line_of(app, needle)
    if needle == "- name: T":  # the second tab with that name
        line = [i for i, text in enumerate(app.splitlines(), 1) if needle in text][1]
    assert problem.startswith(f"a.yaml:{line}:"), problem
    assert message in problem


def test_gateway_check_reports_a_broken_app_file(tmp_path: Path) -> None:
    app = "name: A\ntabs:\n  - name: T\n    layout:\n      - {i: missing_widget}\n"
    write(tmp_path / "q", {"prices.sql": PRICES, "apps/a.yaml": app})
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "check", "--offline", "--queries", str(tmp_path / "q")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert f"{tmp_path / 'q' / 'apps' / 'a.yaml'}:5: " in result.stderr
    assert "unknown widget 'missing_widget'" in result.stderr
