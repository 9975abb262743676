"""What the HTTP handlers share: the published catalog and the services behind it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import msgspec

from gateway.cache import ResponseCache
from gateway.catalog.spec import Catalog, QuerySpec
from gateway.executor import Executor
from gateway.params import ParamLimits
from gateway.settings import Settings
from gateway.sources import Sources
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

    @classmethod
    def of(cls, catalog: Catalog) -> Published:
        return cls(
            catalog,
            encode_json(build_widgets(catalog)),
            encode_json(build_apps(catalog)),
            {spec.id: fingerprint(spec) for spec in catalog},
        )


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
