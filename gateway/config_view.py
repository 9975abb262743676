"""``gateway config``: the effective settings, secrets masked, each with where its value came from.

Masking is the default, not a list to keep up to date: any setting whose name says key, secret,
password or token shows ``***`` for every value in it (API keys, scoped keys), and every
``scheme://`` string goes through ``mask_url`` (database and Redis passwords). Only the names
known to be public (the API key header and query parameter names, the TLS key *path*, a scoped
key's name and allowed widgets) are shown as they are.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gateway.settings import DEFAULT_DATABASE, Settings, env_vars, is_secret_ref, mask_url

_PUBLIC = frozenset({"api_key_header", "api_key_query_param", "ssl_keyfile"})
_SECRET_WORDS = ("key", "secret", "password", "token")
_PUBLIC_PARTS = frozenset({"name", "allow"})
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")
DEFAULT = "default"


def origins(path: Path | None, env: Mapping[str, str], flags: Mapping[str, str]) -> dict[str, str]:
    """Setting name -> where its value came from (``flag --x``, ``env VAR``, ``file ...``, ``default``).

    ``flags`` maps the settings given on the command line to the flag that set them. Sources are
    checked from the highest precedence down, as ``load_settings`` merges them.
    """
    in_file = _file_keys(path)
    out: dict[str, str] = {}
    for field in dataclasses.fields(Settings):
        name = field.name
        given_env = [var for var in env_vars(name) if env.get(var, "") != ""]
        if name in flags:
            out[name] = f"flag {flags[name]}"
        elif given_env and name != "databases":
            out[name] = f"env {given_env[-1]}"
        elif name in in_file:
            out[name] = in_file[name]
        else:
            out[name] = DEFAULT
    return out


def _file_keys(path: Path | None) -> dict[str, str]:
    """Setting name -> ``file PATH`` (plus where a ``{env = ...}`` / ``{file = ...}`` secret points)."""
    if path is None:
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))  # load_settings already validated it
    found: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict) and not is_secret_ref(value) and key != "databases":
            for sub_key, sub_value in value.items():  # [server], [limits]...: grouping only
                found[sub_key] = _file_origin(path, sub_value)
        else:
            found[key] = _file_origin(path, value)
    return found


def _file_origin(path: Path, value: Any) -> str:
    if isinstance(value, dict) and is_secret_ref(value):
        kind, ref = next(iter(value.items()))
        return f"file {path} ({kind.lstrip('$')} {ref})"
    return f"file {path}"


def effective(settings: Settings) -> dict[str, Any]:
    """Every setting as plain JSON-able values, masked; ``databases`` holds every source in use."""
    out = {}
    for field in dataclasses.fields(Settings):
        value = getattr(settings, field.name)
        if field.name == "databases":
            value = settings.sources()
        out[field.name] = mask(field.name, plain(value))
    return out


def plain(value: Any) -> Any:
    """Paths as strings, tuples as lists, dataclasses and mappings as dicts."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def mask(name: str, value: Any, *, secret: bool = False) -> Any:
    """``value`` with every secret replaced by ``***``.

    A value is secret under a name saying key/secret/password/token, down to every leaf inside
    it, except the parts known to be public (a scoped key's ``name`` and ``allow``).
    """
    if value is None:
        return None
    secret = secret or (name not in _PUBLIC and any(word in name for word in _SECRET_WORDS))
    if isinstance(value, dict):
        return {k: mask(k, v, secret=secret and k not in _PUBLIC_PARTS) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(name, v, secret=secret) for v in value]
    if secret:
        return "***"
    if isinstance(value, str) and "://" in value:
        return mask_url(value)
    return value


def database_origins(settings: Settings, setting_origins: Mapping[str, str]) -> dict[str, str]:
    """Source name -> where it came from (the ``default`` one may come from ``database_url``)."""
    out = {name: setting_origins["databases"] for name in settings.databases}
    if settings.database_url is not None:
        out[DEFAULT_DATABASE] = setting_origins["database_url"]
    elif settings.uses_demo:
        out[DEFAULT_DATABASE] = "default (the embedded demo database)"
    return out


def render_json(settings: Settings, setting_origins: Mapping[str, str], path: Path | None) -> str:
    document = {
        "config_file": str(path) if path else None,
        "settings": effective(settings),
        "origins": {**setting_origins, "databases": database_origins(settings, setting_origins)},
    }
    return json.dumps(document, indent=2)


def render_toml(settings: Settings, setting_origins: Mapping[str, str], path: Path | None) -> str:
    """A TOML document (secrets masked) with the origin of each value as a trailing comment."""
    values = effective(settings)
    lines = [
        "# Effective gateway configuration; secrets are masked (***).",
        f"# Config file: {path or 'none'}. Precedence: default < file < env < flag.",
        "",
    ]
    for name, value in values.items():
        if name == "databases":
            continue
        origin = setting_origins[name]
        if value is None:
            lines.append(f"# {name} is not set  ({origin})")
        else:
            lines.append(f"{name} = {toml_value(value)}  # {origin}")
    db_origins = database_origins(settings, setting_origins)
    for name, database in values["databases"].items():
        # A comment, not a table: read back, a [databases.default] table would turn the demo off.
        if name == DEFAULT_DATABASE and settings.uses_demo:
            lines += ["", f"# [databases.default] is the embedded demo database: {database['url']}"]
            continue
        lines += ["", f"[databases.{toml_key(name)}]  # {db_origins.get(name, DEFAULT)}"]
        for key, value in database.items():
            if key != "name" and value is not None:
                lines.append(f"{toml_key(key)} = {toml_value(value)}")
    return "\n".join(lines) + "\n"


def toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key)


def toml_value(value: Any) -> str:
    """TOML for plain values (a JSON string is a valid TOML basic string)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items() if v is not None)
        return "{ " + items + " }" if items else "{}"
    return json.dumps(str(value), ensure_ascii=False)
