"""Immutable query specs: what the rest of the gateway knows about one query file."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.catalog.models import FrontMatter, Param

if TYPE_CHECKING:
    from gateway.catalog.apps import AppSpec
from gateway.catalog.sqlcheck import CompiledSql


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One declared param, with everything needed to parse and bind it."""

    name: str
    type: str
    """OpenBB param type: text, number, boolean, date, ticker or endpoint."""
    default: Any
    """Default from front-matter (may be a ``$currentDate`` shortcut); None when unset."""
    required: bool
    multi: bool
    """Multi-select: a list of values bound as one array."""
    choices: frozenset[Any] | None
    """Allowed values from static ``options``; None = any value of the type."""
    options_query: str | None
    options_params: Mapping[str, str]
    bound: bool
    """False for pass-through params that are declared but not used in SQL."""
    line: int
    model: Param
    """The front-matter object, for widgets.json."""
    whole_number: bool = False
    """Bound where SQL needs a non-negative integer (LIMIT/OFFSET): 2.5 or -1 is a 422."""


@dataclass(frozen=True, slots=True)
class QuerySpec:
    """One query file, validated."""

    id: str
    path: Path
    line: int
    """Line of the front-matter (1 when there is none)."""
    meta: FrontMatter
    params: tuple[ParamSpec, ...]
    param_rows: tuple[tuple[str, ...], ...]
    """Param names by row of controls (a single row unless front-matter used a list of lists)."""
    database: str
    dialect: str
    sql: str
    """The author's SQL text (front-matter removed)."""
    sql_line: int
    """File line on which ``sql`` starts."""
    compiled: CompiledSql
    timeout_ms: int | None
    max_rows: int | None
    name: str
    description: str
    category: str
    lines: Mapping[tuple[str | int, ...], int] = field(default_factory=dict)
    """File line of every front-matter key, by its path (for errors found later)."""

    @property
    def is_widget(self) -> bool:
        return self.meta.widget

    @property
    def widget_type(self) -> str:
        return self.meta.type

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every valid query of a queries folder, by id."""

    root: Path
    specs: Mapping[str, QuerySpec] = field(default_factory=dict)
    apps: tuple[AppSpec, ...] = ()
    """Dashboards declared in ``<root>/apps/*.yaml``."""

    def __iter__(self) -> Iterator[QuerySpec]:
        return iter(self.specs.values())

    def __len__(self) -> int:
        return len(self.specs)

    def get(self, query_id: str) -> QuerySpec | None:
        return self.specs.get(query_id)

    def widgets(self) -> list[QuerySpec]:
        return [s for s in self.specs.values() if s.is_widget]
