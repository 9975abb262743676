"""Params layer: query-string strings -> typed values for one query spec.

Every declared param is parsed by its type before any database work; all problems are collected
and reported at once (422). Unknown query keys (``theme``, ``raw``, the API-key param...) are
ignored, as OpenBB Workspace adds some of its own. An empty value means "not set".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import unquote_to_bytes

from gateway.catalog.spec import ParamSpec, QuerySpec
from gateway.catalog.values import parse_value
from gateway.errors import InvalidParameters, ParamProblem


@dataclass(frozen=True, slots=True)
class ParamLimits:
    max_param_length: int = 1_000
    max_list_items: int = 10_000


def parse_params(
    spec: QuerySpec,
    query: Mapping[str, Sequence[str]],
    *,
    now: datetime,
    limits: ParamLimits,
    include_pass_through: bool = False,
) -> dict[str, Any]:
    """Typed values by param name, defaults applied; raises ``InvalidParameters``.

    Multi-select params accept one comma-joined value (``a,b``, as Workspace sends it) or
    repeated keys (``x=a&x=b``); both give the same sorted, de-duplicated list.
    """
    values: dict[str, Any] = {}
    problems: list[ParamProblem] = []
    for param in spec.params:
        if not param.bound and not include_pass_through:
            continue
        try:
            values[param.name] = _parse_one(param, list(query.get(param.name, ())), now, limits)
        except ValueError as exc:
            problems.append(ParamProblem(param.name, f"{param.name} {exc}"))
    if problems:
        raise InvalidParameters(problems)
    return values


def _parse_one(param: ParamSpec, raw: list[str], now: datetime, limits: ParamLimits) -> Any:
    if any(_has_surrogate(r) for r in raw):
        raise ValueError("is not valid UTF-8")
    given = [r for r in raw if r.strip() != ""]
    if param.multi:
        items = [part for r in given for part in r.split(",") if part.strip() != ""]
        if not items:
            return _default(param, now, limits)
        if len(items) > limits.max_list_items:
            raise ValueError(f"has {len(items)} values; at most {limits.max_list_items} allowed")
        parsed = [_parse_checked(param, item, now, limits) for item in items]
        return _unique_sorted(parsed)
    if not given:
        return _default(param, now, limits)
    if len(set(given)) > 1:
        raise ValueError("was given more than once with different values")
    return _parse_checked(param, given[0], now, limits)


def _parse_checked(param: ParamSpec, text: str, now: datetime, limits: ParamLimits) -> Any:
    value = parse_value(param.type, text, now=now, max_length=limits.max_param_length)
    if param.choices is not None and value not in param.choices:
        raise ValueError(f"must be one of the options, got {text[:40]!r}")
    if param.whole_number and param.type == "number":
        if (isinstance(value, float) and not value.is_integer()) or value < 0:
            raise ValueError(f"must be a whole number >= 0, got {text[:40]!r}")
        value = int(value)
    return value


def _default(param: ParamSpec, now: datetime, limits: ParamLimits) -> Any:
    if param.default is None:
        if param.required:
            raise ValueError("is required")
        return [] if param.multi else None
    if param.multi:
        items = [_parse_checked(param, str(v), now, limits) for v in param.default if str(v)]
        return _unique_sorted(items)
    if param.default == "" and param.type not in ("text", "ticker", "endpoint"):
        return None
    return parse_value(param.type, str(param.default), now=now, max_length=10**6)


def _unique_sorted(values: list[Any]) -> list[Any]:
    """Sorted without duplicates; of equal numbers (``1`` and ``1.0``) the int wins, whatever the order."""
    ints_first = sorted(values, key=lambda v: isinstance(v, float))
    return sorted(dict.fromkeys(ints_first), key=_sort_key)


def _sort_key(value: Any) -> tuple[str, Any]:
    # Values of one param share a type, but numbers may mix int and float (compared exactly).
    if isinstance(value, bool | int | float):
        return ("n", value)
    if isinstance(value, date):
        return ("d", value.isoformat())
    return ("s", str(value))


def cache_key_part(values: Mapping[str, Any]) -> str:
    """Canonical text of bound values (sorted keys, typed): equal params give equal keys.

    Injective: ``repr`` quotes strings and spells out types (``1`` vs ``1.0`` vs ``True`` vs
    ``'1'``), so different values can never share a key; multi-select lists are already sorted.
    """
    return repr(sorted(values.items()))


MAX_QUERY_FIELDS = 1_000


def split_query_string(raw: bytes) -> dict[str, list[str]]:
    """Decode a raw query string into lists of values per key.

    Invalid UTF-8 (``%ff``) is kept (as surrogates): ``parse_params`` reports it as a 422 for a
    declared param and ignores it for any other key. More than ``MAX_QUERY_FIELDS`` pairs is a 422.
    """
    out: dict[str, list[str]] = {}
    if not raw:
        return out
    pairs = raw.split(b"&")
    if len(pairs) > MAX_QUERY_FIELDS:
        raise InvalidParameters([ParamProblem("query", f"more than {MAX_QUERY_FIELDS} query parameters")])
    for pair in pairs:
        if not pair:
            continue
        key, _, value = pair.partition(b"=")
        out.setdefault(_unquote(key), []).append(_unquote(value))
    return out


def _unquote(part: bytes) -> str:
    if b"%" in part or b"+" in part:
        return unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8", "surrogateescape")
    return part.decode("utf-8", "surrogateescape")


def _has_surrogate(text: str) -> bool:
    return not text.isascii() and _SURROGATE.search(text) is not None


_SURROGATE = re.compile("[\udc80-\udcff]")


def default_values(spec: QuerySpec, *, now: datetime) -> dict[str, Any]:
    """Each bound param's default (None when it has none): for compiling a query ahead of time."""
    limits = ParamLimits()
    out: dict[str, Any] = {}
    for param in spec.params:
        if param.bound:
            try:
                out[param.name] = _default(param, now, limits)
            except ValueError:
                out[param.name] = [] if param.multi else None
    return out
