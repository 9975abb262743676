"""Typed app files: OpenBB apps.json names, declared by widget id (see ``gateway.catalog.apps``)."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, Struct, UnsetType


class _Strict(Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


class LayoutItem(_Strict):
    i: str
    w: int = 20
    h: int = 12
    x: int | UnsetType = UNSET
    y: int | UnsetType = UNSET
    state: dict[str, Any] | UnsetType = UNSET


class Tab(_Strict):
    name: str
    layout: list[LayoutItem]
    id: str | UnsetType = UNSET


class Group(_Strict):
    paramName: str
    widgetIds: list[str] | UnsetType = UNSET
    """Default: every widget of the app that has this param."""
    defaultValue: Any = UNSET


class AppFile(_Strict):
    name: str
    tabs: list[Tab]
    description: str | UnsetType = UNSET
    allowCustomization: bool = True
    groups: list[Group] = msgspec.field(default_factory=list)
    prompts: list[str] = msgspec.field(default_factory=list)
    img: str | UnsetType = UNSET
    img_dark: str | UnsetType = UNSET
    img_light: str | UnsetType = UNSET
