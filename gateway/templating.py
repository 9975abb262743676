"""Markdown widgets: a sandboxed Jinja2 template over the query's rows.

A leaf module: the catalog checks templates at load, the workspace layer renders them.

Every value a template prints is escaped for Markdown (and HTML), so a row holding ``**`` or
``<script>`` shows as text. ``{{ value | safe }}`` opts out for trusted columns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

# Characters that start Markdown syntax anywhere, and those that only do at the start of a line.
_ANYWHERE = re.compile(r"([\\`*_\[\]|~>])")
# Only a marker followed by a space starts a heading or a list item ("-5 %" or "77.85" do not).
_LINE_START = re.compile(r"^(\s*)([#+\-=])(?=\s|$)", re.M)
_ORDERED_ITEM = re.compile(r"^(\s*\d+)([.)])(?=\s|$)", re.M)


def escape_markdown(value: Any) -> str:
    """Text that Markdown renders literally (and that no HTML renderer runs)."""
    text = str(value).replace("&", "&amp;").replace("<", "&lt;")
    text = _ANYWHERE.sub(r"\\\1", text)
    text = _LINE_START.sub(lambda m: f"{m.group(1)}\\{m.group(2)}", text)
    return _ORDERED_ITEM.sub(lambda m: f"{m.group(1)}\\{m.group(2)}", text)


def _finalize(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Markup):
        return value
    return escape_markdown(value)


def _number(value: Any, digits: int = 0) -> str:
    """``1234567.8 | number(1)`` -> ``1,234,567.8``; non-numbers pass through."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return "" if value is None else str(value)
    return f"{value:,.{digits}f}"


def _compact(value: Any) -> str:
    """``41236716229 | compact`` -> ``41.2B``."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return "" if value is None else str(value)
    number = float(value)
    for threshold, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= threshold:
            return f"{number / threshold:.1f}{suffix}"
    return f"{number:.0f}" if number.is_integer() else f"{number:.2f}"


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(autoescape=False, finalize=_finalize, trim_blocks=True, lstrip_blocks=True)
    env.filters["number"] = _number
    env.filters["compact"] = _compact
    return env


_ENV = _environment()


def check_template(source: str) -> tuple[int, str] | None:
    """``(line, message)`` of a syntax error (or an unknown filter) in ``source``, or None."""
    try:
        _ENV.from_string(source)
    except TemplateSyntaxError as error:
        return (error.lineno or 1, error.message or "template syntax error")
    return None


@lru_cache(maxsize=512)
def _compiled(source: str) -> Any:
    return _ENV.from_string(source)


def render_markdown(
    source: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], params: Mapping[str, Any]
) -> str:
    records = [dict(zip(columns, row, strict=True)) for row in rows]
    return str(_compiled(source).render(rows=records, row=records[0] if records else {}, params=dict(params)))
