"""App files (``<queries>/apps/*.yaml``): dashboards declared by widget id, validated at load.

```yaml
name: Equity research
tabs:
  - name: Overview
    layout:
      - {i: price_candles, x: 0, y: 0, w: 24, h: 14}
      - {i: company_overview, w: 16, h: 14}      # x/y omitted: placed automatically
groups:
  - paramName: ticker                          # links every widget of the app with this param
    defaultValue: AAPL
prompts: ["What moved @[id:price_candles] this month?"]
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from msgspec import UNSET

from gateway.catalog.apps_models import AppFile, Tab
from gateway.catalog.frontmatter import FrontMatterSyntaxError, Path_, line_of, load_yaml
from gateway.catalog.messages import explain_validation_error
from gateway.catalog.spec import QuerySpec
from gateway.errors import QueryFileError

GRID_COLUMNS = 40
_TAB_ID = re.compile(r"[A-Za-z0-9_-]+\Z")


@dataclass(frozen=True, slots=True)
class AppSpec:
    """A validated app, ready to serialise into apps.json."""

    path: Path
    document: dict[str, Any]
    widget_ids: frozenset[str]


def load_apps(folder: Path, specs: Mapping[str, QuerySpec]) -> tuple[list[AppSpec], list[QueryFileError]]:
    """Every ``*.yaml``/``*.yml`` app in ``folder`` (which may not exist), and the problems found."""
    if not folder.is_dir():
        return [], []
    apps, problems = [], []
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        try:
            apps.append(_load_app(path, specs))
        except QueryFileError as error:
            problems.append(error)
    return apps, problems


def _load_app(path: Path, specs: Mapping[str, QuerySpec]) -> AppSpec:
    try:
        data, lines = load_yaml(path.read_text(encoding="utf-8-sig"))
    except FrontMatterSyntaxError as error:
        raise QueryFileError(path, error.line, error.message) from None
    except UnicodeDecodeError as error:
        raise QueryFileError(path, 1, f"not UTF-8 text ({error.reason})") from None
    try:
        app = msgspec.convert(data, AppFile, strict=True)
    except msgspec.ValidationError as error:
        at, message = explain_validation_error(str(error))
        raise QueryFileError(path, line_of(lines, at, 1), message) from None
    return _App(path, lines, specs).build(app)


class _App:
    def __init__(self, path: Path, lines: dict[Path_, int], specs: Mapping[str, QuerySpec]) -> None:
        self.path, self.lines, self.specs = path, lines, specs

    def fail(self, at: Path_, message: str) -> QueryFileError:
        return QueryFileError(self.path, line_of(self.lines, at, 1), message)

    def build(self, app: AppFile) -> AppSpec:
        if not app.tabs:
            raise self.fail(("tabs",), "an app needs at least one tab")
        tabs, used = {}, []
        for t, tab in enumerate(app.tabs):
            tab_id = (
                tab.id
                if isinstance(tab.id, str)
                else re.sub(r"[^A-Za-z0-9]+", "-", tab.name).strip("-").lower()
            )
            if not _TAB_ID.match(tab_id or "-") or tab_id in tabs:
                raise self.fail(("tabs", t), f"tab id {tab_id!r} is empty or repeated")
            layout = self._layout(t, tab)
            used += [item["i"] for item in layout]
            tabs[tab_id] = {"id": tab_id, "name": tab.name, "layout": layout}
        groups = self._groups(app, used, tabs)
        document: dict[str, Any] = {
            "name": app.name,
            "description": app.description if isinstance(app.description, str) else app.name,
            "allowCustomization": app.allowCustomization,
            "tabs": tabs,
            "groups": groups,
            "prompts": app.prompts,
        }
        for key in ("img", "img_dark", "img_light"):
            if isinstance(getattr(app, key), str):
                document[key] = getattr(app, key)
        return AppSpec(self.path, document, frozenset(used))

    def _layout(self, t: int, tab: Tab) -> list[dict[str, Any]]:
        placed: list[dict[str, Any]] = []
        for n, item in enumerate(tab.layout):
            at: Path_ = ("tabs", t, "layout", n)
            spec = self.specs.get(item.i)
            if spec is None or not spec.is_widget:
                raise self.fail((*at, "i"), f"unknown widget {item.i!r} (widget ids are file names)")
            if not 1 <= item.w <= GRID_COLUMNS or item.h < 1:
                raise self.fail(at, f"w must be 1-{GRID_COLUMNS} and h at least 1")
            entry: dict[str, Any] = {"i": item.i, "w": item.w, "h": item.h}
            if isinstance(item.x, int) and isinstance(item.y, int):
                if item.x < 0 or item.y < 0 or item.x + item.w > GRID_COLUMNS:
                    raise self.fail(at, f"x + w must fit the {GRID_COLUMNS}-column grid")
                entry.update(x=item.x, y=item.y)
            if isinstance(item.state, dict):
                entry["state"] = item.state
            placed.append(entry)
        return auto_place(placed)

    def _groups(self, app: AppFile, used: list[str], tabs: dict[str, Any]) -> list[dict[str, Any]]:
        groups: list[dict[str, Any]] = []
        for g, group in enumerate(app.groups):
            at: Path_ = ("groups", g)
            members = (
                group.widgetIds
                if isinstance(group.widgetIds, list)
                else [
                    wid for wid in dict.fromkeys(used) if self.specs[wid].param(group.paramName) is not None
                ]
            )
            params = []
            for wid in members:
                param = self.specs[wid].param(group.paramName) if wid in self.specs else None
                if wid not in used or param is None:
                    raise self.fail(
                        (*at, "widgetIds"),
                        f"widget {wid!r} is not in this app or has no param {group.paramName!r}",
                    )
                params.append(param)
            if len(members) < 2:
                raise self.fail(at, f"group {group.paramName!r} links fewer than two widgets")
            name = f"Group {len(groups) + 1}"
            entry: dict[str, Any] = {
                "name": name,
                "type": "endpointParam" if params[0].type == "endpoint" else "param",
                "paramName": group.paramName,
                "widgetIds": members,
            }
            if group.defaultValue is not UNSET:
                if params[0].choices is not None and group.defaultValue not in params[0].choices:
                    raise self.fail((*at, "defaultValue"), "defaultValue is not one of the param's options")
                entry["defaultValue"] = group.defaultValue
            groups.append(entry)
            for tab in tabs.values():
                for item in tab["layout"]:
                    if item["i"] in members:
                        item.setdefault("groups", []).append(name)
                        if group.defaultValue is not UNSET:
                            # OpenBB applies app defaults through each item's state as well.
                            item.setdefault("state", {}).setdefault("params", {})[group.paramName] = (
                                group.defaultValue
                            )
        return groups


def auto_place(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give items without x/y a place: left to right, below everything placed so far."""
    floor = max((item["y"] + item["h"] for item in items if "x" in item), default=0)
    x, y, row_height = 0, floor, 0
    for item in items:
        if "x" in item:
            continue
        if x + item["w"] > GRID_COLUMNS:
            x, y, row_height = 0, y + row_height, 0
        item.update(x=x, y=y)
        x += item["w"]
        row_height = max(row_height, item["h"])
    return items
