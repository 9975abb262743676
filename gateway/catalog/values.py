"""Parsing one textual parameter value into the Python value bound to SQL, by param type.

Pure functions shared by the catalog (to validate defaults at load) and the params layer (to parse
query strings per request). Each raises ``ValueError`` with a message meant for the client.
"""

from __future__ import annotations

import calendar
import math
import re
from datetime import date, datetime, timedelta
from typing import Any

# re.ASCII: `\d` must not match other scripts' digits ("١٢" is not the number 12 here).
DATE_SHORTCUT = re.compile(r"\$currentDate(?:([+-])(\d{1,4})([hdwMy]))?\Z", re.ASCII)
_INT = re.compile(r"[+-]?\d+\Z", re.ASCII)
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z", re.ASCII)
_INT8 = 2**63
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def resolve_date_shortcut(text: str, now: datetime) -> date | None:
    """``$currentDate[+-N(h|d|w|M|y)]`` relative to ``now``; None if ``text`` is not a shortcut."""
    match = DATE_SHORTCUT.match(text.strip())
    if match is None:
        return None
    sign, amount, unit = match.groups()
    if sign is None:
        return now.date()
    n = int(amount) * (1 if sign == "+" else -1)
    if unit == "h":
        return (now + timedelta(hours=n)).date()
    if unit == "d":
        return (now + timedelta(days=n)).date()
    if unit == "w":
        return (now + timedelta(weeks=n)).date()
    months = n if unit == "M" else 12 * n
    return _add_months(now.date(), months)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def parse_value(kind: str, text: str, *, now: datetime, max_length: int) -> Any:
    """Parse one non-empty textual value of a param of type ``kind``."""
    if "\x00" in text:
        raise ValueError("contains a NUL character")
    if kind == "number":
        return parse_number(text)
    if kind == "boolean":
        return parse_bool(text)
    if kind == "date":
        return parse_date(text, now)
    if len(text) > max_length:
        raise ValueError(f"is longer than {max_length} characters")
    if kind == "ticker":
        return text.strip().upper()
    return text


def parse_number(text: str) -> int | float:
    value = text.strip()
    if _INT.match(value):
        # A 20-digit integer is out of range too, not silently a float; the length test first
        # keeps int() away from huge digit strings.
        if len(value.lstrip("+-").lstrip("0")) > 19 or not -_INT8 <= int(value) < _INT8:
            raise ValueError("is out of range for a 64-bit integer")
        return int(value)
    if _FLOAT.match(value):
        result = float(value)
        if not math.isfinite(result):
            raise ValueError("is not a finite number")
        return result
    raise ValueError(f"is not a number: {_show(text)}")


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"is not a boolean (true or false): {_show(text)}")


def parse_date(text: str, now: datetime) -> date:
    value = text.strip()
    shortcut = resolve_date_shortcut(value, now)
    if shortcut is not None:
        return shortcut
    candidate = value[:10] if len(value) > 10 and value[10] in "T " else value
    if not _DATE.match(candidate):
        raise ValueError(f"is not a date (YYYY-MM-DD or $currentDate-1y): {_show(text)}")
    try:
        return date.fromisoformat(candidate)
    except ValueError:
        raise ValueError(f"is not a valid calendar date: {_show(text)}") from None


def _show(text: str) -> str:
    """Quote a bad value for an error message, shortened so bodies stay small."""
    return repr(text if len(text) <= 40 else text[:37] + "...")
