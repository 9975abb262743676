"""What the HTTP handlers share: the published catalog and the services behind it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from gateway.cache import ResponseCache
from gateway.catalog.spec import Catalog, QuerySpec
from gateway.executor import Executor
from gateway.http.access import AccessScope, ScopeView, scope_view
from gateway.params import ParamLimits, cache_key_part, parse_params, split_query_string
from gateway.settings import Settings
from gateway.sources import Column, Sources
from gateway.workspace.apps import build_apps
from gateway.workspace.encode import encode_json
from gateway.workspace.widgets import build_widgets


@dataclass(frozen=True, slots=True)
class Published:
    """One consistent version of the catalog and its manifests, swapped as a whole."""

    catalog: Catalog
    widgets_json: bytes
    apps_json: bytes
    fingerprints: Mapping[str, str]
    """Per query: a hash of its SQL and front-matter; part of cache keys, so edits miss."""
    memo: ParamsMemo
    views: dict[AccessScope, ScopeView] = field(default_factory=dict, compare=False)
    """This version as each key scope sees it (gateway/http/access.py), built on first use."""
    documents: dict[AccessScope, bytes] = field(default_factory=dict, compare=False)
    """``/openapi.json`` per key scope, built on first use."""

    def view(self, scope: AccessScope) -> ScopeView:
        view = self.views.get(scope)
        if view is None:
            view = self.views[scope] = scope_view(self.catalog, scope, self.widgets_json, self.apps_json)
        return view

    @classmethod
    def of(cls, catalog: Catalog, columns: Mapping[str, list[Column]] | None = None) -> Published:
        """Publish ``catalog``; ``columns`` (result columns by query id) refine widgets.json."""
        fingerprints = {spec.id: fingerprint(spec) for spec in catalog}
        return cls(
            catalog,
            encode_json(build_widgets(catalog, columns or {})),
            encode_json(build_apps(catalog)),
            fingerprints,
            ParamsMemo(fingerprints),
        )


Parsed = tuple[dict[str, list[str]], dict[str, Any], str]


class ParamsMemo:
    """Recently seen raw query strings -> (query, typed values, cache key), per catalog version.

    Dashboards send the same few query strings over and over; parsing and typing them again on
    every cache hit would cost more than the hit itself. Keyed by the hour too, because defaults
    like ``$currentDate-1d`` resolve differently as time passes. Bounded: cleared when full.
    """

    def __init__(self, fingerprints: Mapping[str, str], max_entries: int = 4096) -> None:
        self._fingerprints, self._max = fingerprints, max_entries
        self._entries: dict[tuple[str, bytes, int], Parsed] = {}

    def parse(self, spec: QuerySpec, raw: bytes, now: datetime, limits: ParamLimits) -> Parsed:
        memo_key = (spec.id, raw, now.toordinal() * 24 + now.hour)
        parsed = self._entries.get(memo_key)
        if parsed is None:
            query = split_query_string(raw)
            values = parse_params(spec, query, now=now, limits=limits)
            parsed = (query, values, f"{spec.id}|{self._fingerprints[spec.id]}|{cache_key_part(values)}")
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[memo_key] = parsed
        return parsed


def fingerprint(spec: QuerySpec) -> str:
    digest = hashlib.blake2b(spec.sql.encode(), digest_size=6)
    digest.update(msgspec.json.encode(spec.meta))
    return digest.hexdigest()


@dataclass(slots=True)
class GatewayState:
    settings: Settings
    published: Published
    sources: Sources
    executor: Executor
    cache: ResponseCache | None
    param_limits: ParamLimits
    clock: Callable[[], datetime]

    @property
    def catalog(self) -> Catalog:
        return self.published.catalog


def wall_clock(timezone: str) -> Callable[[], datetime]:
    zone = ZoneInfo(timezone)
    return lambda: datetime.now(zone)
