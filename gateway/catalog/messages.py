"""Readable ``path: message`` text from msgspec validation errors, with a typo hint."""

from __future__ import annotations

import difflib
import re

import msgspec

from gateway.catalog import apps_models, models

Path_ = tuple[str | int, ...]
_MSGSPEC_AT = re.compile(r"(.*) - at `\$(.*)`\Z", re.S)
_PATH_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_KNOWN_KEYS = frozenset(
    name
    for module in (models, apps_models)
    for struct in vars(module).values()
    if isinstance(struct, type) and issubclass(struct, msgspec.Struct)
    for name in struct.__struct_fields__
)


def explain_validation_error(message: str) -> tuple[Path_, str]:
    """Turn a msgspec message into (path, readable text)."""
    match = _MSGSPEC_AT.match(message)
    text, raw_path = (match.group(1), match.group(2)) if match else (message, "")
    path: list[str | int] = []
    for key, index in _PATH_PART.findall(raw_path):
        path.append(int(index) if index else key)
    where = raw_path.lstrip(".") or "front-matter"
    unknown = re.match(r"Object contains unknown field `(.+)`", text)
    if unknown:
        key = unknown.group(1)
        hint = difflib.get_close_matches(key, _KNOWN_KEYS, n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        return (*path, key), f"{where}: unknown key {key!r}{suggestion}"
    missing = re.match(r"Object missing required field `(.+)`", text)
    if missing:
        return tuple(path), f"{where}: missing required key {missing.group(1)!r}"
    return tuple(path), f"{where}: {text}"
