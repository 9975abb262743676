"""What the HTTP handlers share: the published catalog and the services behind it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from gateway.catalog.spec import Catalog
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

    @classmethod
    def of(cls, catalog: Catalog) -> Published:
        return cls(catalog, encode_json(build_widgets(catalog)), encode_json(build_apps(catalog)))


@dataclass(slots=True)
class GatewayState:
    settings: Settings
    published: Published
    sources: Sources
    executor: Executor
    param_limits: ParamLimits
    clock: Callable[[], datetime]

    @property
    def catalog(self) -> Catalog:
        return self.published.catalog


def wall_clock(timezone: str) -> Callable[[], datetime]:
    zone = ZoneInfo(timezone)
    return lambda: datetime.now(zone)
