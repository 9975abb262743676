"""Which widgets an API key may use: one backend serving teams with different rights (#6).

Flat ``api_keys`` see everything; each ``[[keys]]`` table may carry ``allow`` globs matched
against widget ids (``equity_*``) and sub-folder paths (``screens/*``). A key outside its scope
sees a backend without those widgets: they are missing from ``/widgets.json``, ``/apps.json`` and
``/openapi.json``, and their data routes answer 404 ``unknown_widget`` (nothing to enumerate).
Options queries feeding an allowed widget's dropdown stay reachable.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import msgspec

from gateway.catalog.spec import Catalog, QuerySpec
from gateway.settings import ScopedKey
from gateway.workspace.encode import encode_json


@dataclass(frozen=True, slots=True)
class AccessScope:
    """What one key may use; ``allow`` None means every widget."""

    name: str
    allow: tuple[str, ...] | None = None

    @property
    def unrestricted(self) -> bool:
        return self.allow is None

    def permits(self, spec: QuerySpec, catalog: Catalog) -> bool:
        """True when an ``allow`` glob matches the id or the path below the queries folder."""
        if self.allow is None:
            return True
        paths = (spec.id, _folder_path(spec, catalog))
        return any(fnmatchcase(p, pattern) for pattern in self.allow for p in paths)


FULL_ACCESS = AccessScope("*")
ACCESS_STATE_KEY = "access"
"""Where the edge middleware leaves the request's scope, in the ASGI ``scope["state"]``."""


def access_of(scope: Mapping[str, Any]) -> AccessScope:
    """The request's access scope; full access when authentication is off."""
    found: AccessScope = scope.get("state", {}).get(ACCESS_STATE_KEY, FULL_ACCESS)
    return found


class KeyTable:
    """Every accepted key and its scope; lookups compare against every key, in constant time."""

    def __init__(self, api_keys: Sequence[str] = (), keys: Sequence[ScopedKey] = ()) -> None:
        entries = [(k.encode(), FULL_ACCESS) for k in api_keys]
        entries += [(k.key.encode(), AccessScope(k.name, k.allow)) for k in keys]
        self._entries = tuple(entries)

    def __bool__(self) -> bool:
        """False when no key is configured: authentication is off."""
        return bool(self._entries)

    def resolve(self, given: bytes) -> AccessScope | None:
        """The scope of ``given``, or None. No early exit: the time does not tell which key matched."""
        found = None
        for key, scope in self._entries:
            if hmac.compare_digest(given, key) and found is None:
                found = scope
        return found


def _folder_path(spec: QuerySpec, catalog: Catalog) -> str:
    try:
        return spec.path.relative_to(catalog.root).with_suffix("").as_posix()
    except ValueError:  # a spec built outside the folder (tests): only its id can match
        return spec.id


@dataclass(frozen=True, slots=True)
class ScopeView:
    """One catalog as one scope sees it: the ids it may call and its encoded manifests."""

    widgets: frozenset[str]
    """Widgets served under ``/sql/``."""
    options: frozenset[str]
    """Queries served under ``/options/``: the allowed ones and every dropdown they use."""
    dropdowns: frozenset[str]
    """The options queries among them (not widgets, or feeding a widget's dropdown)."""
    widgets_json: bytes
    apps_json: bytes


def scope_view(catalog: Catalog, scope: AccessScope, widgets_json: bytes, apps_json: bytes) -> ScopeView:
    """Filter the published manifests down to ``scope`` (memoised by the caller)."""
    allowed = [spec for spec in catalog if scope.permits(spec, catalog)]
    widgets = frozenset(s.id for s in allowed if s.is_widget)
    feeding = {
        p.options_query for s in allowed if s.is_widget for p in s.params if p.options_query is not None
    }
    options = frozenset({s.id for s in allowed} | feeding)
    dropdowns = frozenset({s.id for s in allowed if not s.is_widget} | feeding)
    if scope.unrestricted:
        return ScopeView(widgets, options, dropdowns, widgets_json, apps_json)
    manifest: dict[str, Any] = msgspec.json.decode(widgets_json)
    apps: list[dict[str, Any]] = msgspec.json.decode(apps_json)
    return ScopeView(
        widgets,
        options,
        dropdowns,
        encode_json({wid: entry for wid, entry in manifest.items() if wid in widgets}),
        encode_json([app for app in (filter_app(a, widgets) for a in apps) if app is not None]),
    )


_MENTION = re.compile(r"@\[id:([^\]]+)\]")


def filter_app(app: Mapping[str, Any], widgets: frozenset[str]) -> dict[str, Any] | None:
    """``app`` without the widgets outside ``widgets``; None when no widget is left.

    Tabs left empty go, groups left with fewer than two widgets go (and their names leave the
    layout items), and prompts that mention a removed widget go.
    """
    tabs = {}
    for tab_id, tab in app.get("tabs", {}).items():
        layout = [dict(item) for item in tab.get("layout", []) if item.get("i") in widgets]
        if layout:
            tabs[tab_id] = {**tab, "layout": layout}
    if not tabs:
        return None
    groups, dropped = [], set()
    for group in app.get("groups", []):
        members = [w for w in group.get("widgetIds", []) if w in widgets]
        if len(members) >= 2:
            groups.append({**group, "widgetIds": members})
        else:
            dropped.add(group.get("name"))
    for tab in tabs.values():
        for item in tab["layout"]:
            if "groups" in item:
                item["groups"] = [g for g in item["groups"] if g not in dropped]
                if not item["groups"]:
                    del item["groups"]
    prompts = [p for p in app.get("prompts", []) if set(_MENTION.findall(p)) <= widgets]
    return {**app, "tabs": tabs, "groups": groups, "prompts": prompts}


def visible(specs: Iterable[QuerySpec], ids: frozenset[str]) -> list[QuerySpec]:
    """``specs`` whose id is in ``ids``, in id order."""
    return sorted((s for s in specs if s.id in ids), key=lambda s: s.id)
