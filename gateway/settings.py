"""Typed settings: defaults < config file (``gateway.toml``) < ``GATEWAY_*`` env < CLI flags.

Nothing here is read at import time; ``load_settings`` is called once by the CLI (or by a test) and
the result is passed into ``create_app``. Every field of ``Settings`` is documented in the README's
configuration reference (a test checks it).
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.errors import ConfigError

DEFAULT_DATABASE = "default"
WORKSPACE_ORIGINS = (
    "https://pro.openbb.co",
    "https://pro.openbb.dev",
    "http://localhost:1420",
    "tauri://localhost",
    "https://excel.openbb.co",
    "https://excel.openbb.dev",
)
_SCHEMES = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}


def normalize_database_url(url: str) -> str:
    """Map plain ``postgresql://`` / ``sqlite:///`` URLs onto the async drivers we ship."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError(f"database URL must look like scheme://..., got {mask_url(url)!r}")
    target = _SCHEMES.get(scheme.lower())
    if target is None:
        supported = "postgresql://, postgresql+asyncpg://, sqlite:///, sqlite+aiosqlite:///"
        raise ConfigError(f"unsupported database URL scheme {scheme!r}; use one of {supported}")
    return f"{target}://{rest}"


_PASSWORD_QUERY = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def mask_url(url: str) -> str:
    """Hide the password of a database URL (for logs and ``gateway config``).

    Both places libpq reads one from are masked: ``user:PASSWORD@host`` and ``?password=...``.
    """
    url = _PASSWORD_QUERY.sub(r"\1***", url)
    scheme, sep, rest = url.partition("://")
    if not sep:  # `user:pw@host` with the scheme forgotten still holds a password
        scheme, rest = "", url
    creds, at, host = rest.rpartition("@")
    if not at or ":" not in creds:
        return url
    user = creds.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    """One named data source."""

    name: str
    url: str
    """SQLAlchemy URL, already mapped to the async driver."""
    statement_timeout_ms: int | None = None
    """Lower time limit for this source; never above the global ``statement_timeout_ms``."""
    max_rows: int | None = None
    """Lower row cap for this source; never above the global ``max_rows``."""
    pool_size: int = 5
    """Connections kept open to this source."""
    search_path: str | None = None
    """PostgreSQL only: schema search path set on every connection."""

    @property
    def dialect(self) -> str:
        """``postgres`` or ``sqlite``: the SQL dialect queries on this source are parsed with."""
        return "sqlite" if self.url.startswith("sqlite") else "postgres"


@dataclass(frozen=True, slots=True)
class ScopedKey:
    """One API key with a name and the widgets it may use (a ``[[keys]]`` table)."""

    name: str
    """Shown in logs instead of the key (e.g. the team using it)."""
    key: str = field(repr=False)
    allow: tuple[str, ...] | None = None
    """Globs over widget ids and sub-folder paths (``equity_*``, ``screens/*``); None = all."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the gateway can be configured with. Units are in the names."""

    queries_dir: Path = Path("queries")
    """Folder of ``.sql`` widget files."""
    database_url: str | None = None
    """URL of the ``default`` source; unset = the embedded SQLite demo database."""
    databases: Mapping[str, DatabaseSettings] = field(default_factory=dict)
    """Named sources; a query picks one with ``database: NAME`` (default ``default``)."""
    demo_path: Path = Path(".gateway/demo.sqlite")
    """Where the embedded demo database is created on first run."""
    host: str = "127.0.0.1"
    """Interface to listen on."""
    port: int = 8000
    """TCP port to listen on; a busy port is an error, never silently changed."""
    ssl_keyfile: Path | None = None
    """TLS private key (PEM); set together with ``ssl_certfile``."""
    ssl_certfile: Path | None = None
    """TLS certificate (PEM); set together with ``ssl_keyfile``."""
    reload: bool = False
    """Watch the queries folder and swap in valid changes."""
    api_keys: tuple[str, ...] = ()
    """Accepted API keys; empty = no authentication."""
    api_key_header: str = "X-API-Key"
    """Header that carries the API key."""
    api_key_query_param: str = "api_key"
    """Query parameter that carries the API key (it is never bound to SQL)."""
    keys: tuple[ScopedKey, ...] = ()
    """Named API keys limited to some widgets (``[[keys]]`` in the config file only)."""
    cors_origins: tuple[str, ...] = ()
    """Origins allowed in addition to the OpenBB Workspace ones."""
    statement_timeout_ms: int = 10_000
    """Upper time limit of any query; a source or a file may only lower it."""
    max_rows: int = 100_000
    """Upper row cap of any result; a source or a file may only lower it."""
    max_body_bytes: int = 65_536
    """Largest request body accepted (413 above)."""
    max_param_length: int = 1_000
    """Longest accepted value of one text parameter, in characters."""
    max_list_items: int = 10_000
    """Most values accepted in one multi-select parameter."""
    pool_timeout_s: float = 2.0
    """How long a request waits for a free database connection before 503."""
    pool_queue_depth: int = 64
    """Requests that may wait for a connection per source; more get 503 at once."""
    connect_timeout_s: float = 5.0
    """How long opening a database connection may take before 503."""
    cache_url: str = "memory"
    """Response cache: ``memory`` (per process), ``redis://host:port/db`` (shared), or ``off``."""
    cache_max_bytes: int = 64 * 1024 * 1024
    """Byte budget of the in-memory cache; least recently used bodies are evicted first."""
    cache_max_entry_bytes: int = 8 * 1024 * 1024
    """Bodies larger than this are served but never cached."""
    cache_refresh_ahead: bool = True
    """Refresh a still-requested entry in the background shortly before it expires."""
    cache_admission: str = "repeat"
    """``repeat``: store a body when its key is asked for a second time; ``always``: at once."""
    timezone: str = "UTC"
    """Time zone in which ``$currentDate`` is evaluated."""
    log_level: str = "info"
    """Log level: debug, info, warning, error."""
    log_format: str = "text"
    """``text`` (one readable line per event, for a terminal) or ``json`` (one object per line)."""

    def sources(self) -> dict[str, DatabaseSettings]:
        """Every named source, with ``default`` always present."""
        out = dict(self.databases)
        if self.database_url is not None:
            out[DEFAULT_DATABASE] = dataclasses.replace(
                out.get(DEFAULT_DATABASE, DatabaseSettings(DEFAULT_DATABASE, "")),
                url=normalize_database_url(self.database_url),
            )
        out.setdefault(DEFAULT_DATABASE, DatabaseSettings(DEFAULT_DATABASE, self.demo_url))
        return out

    @property
    def demo_url(self) -> str:
        return f"sqlite+aiosqlite:///{self.demo_path}"

    @property
    def uses_demo(self) -> bool:
        """True when the ``default`` source is the embedded demo database."""
        return self.database_url is None and DEFAULT_DATABASE not in self.databases

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*WORKSPACE_ORIGINS, *self.cors_origins)))


_SCALARS = {f.name: f for f in dataclasses.fields(Settings) if f.name != "databases"}
_DB_KEYS = {f.name for f in dataclasses.fields(DatabaseSettings)} - {"name"}


def load_settings(
    config_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Merge defaults, the config file, ``GATEWAY_*`` variables and explicit overrides.

    ``config_file`` defaults to ``$GATEWAY_CONFIG`` or ``./gateway.toml`` when present.
    ``overrides`` (CLI flags) whose value is ``None`` are ignored.
    """
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    databases: dict[str, DatabaseSettings] = {}
    path = config_path(config_file, env)
    if path is not None:
        file_values, databases = _read_config_file(path, env)
        raw.update(file_values)
    raw.update(_from_env(env))
    for key, value in (overrides or {}).items():
        if value is not None:
            raw[_known("overrides", key)] = value
    values = {name: _coerce(name, value) for name, value in raw.items()}
    settings = Settings(databases=databases, **values)
    _validate(settings)
    return settings


def config_path(config_file: Path | None, env: Mapping[str, str]) -> Path | None:
    """The file settings are read from: ``config_file``, else ``$GATEWAY_CONFIG``, else
    ``./gateway.toml`` when present."""
    if config_file is not None:
        return config_file
    if "GATEWAY_CONFIG" in env:
        return Path(env["GATEWAY_CONFIG"])
    candidate = Path("gateway.toml")
    return candidate if candidate.is_file() else None


def _read_config_file(
    path: Path, env: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, DatabaseSettings]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    values: dict[str, Any] = {}
    databases: dict[str, DatabaseSettings] = {}
    for key, value in data.items():
        if key == "databases":
            databases = _read_databases(path, value, env)
        elif key == "keys":
            values["keys"] = _read_keys(path, value, env)
        elif isinstance(value, dict) and not is_secret_ref(value):
            for sub_key, sub_value in value.items():  # [server], [auth], [limits] are grouping only
                name = _known(path, sub_key)  # before resolving: an unknown key is the real error
                if name == "keys":  # [[auth.keys]]
                    values[name] = _read_keys(path, sub_value, env)
                else:
                    values[name] = _resolve_secret(path, sub_value, env)
        else:
            name = _known(path, key)
            values[name] = _resolve_secret(path, value, env)
    if "queries_dir" in values:  # relative to the config file, like every path in it
        values["queries_dir"] = path.parent / str(values["queries_dir"])
    return values, databases


def _read_databases(path: Path, table: Any, env: Mapping[str, str]) -> dict[str, DatabaseSettings]:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [databases] must be a table of named sources")
    out = {}
    for name, spec in table.items():
        if not isinstance(spec, dict) or "url" not in spec:
            raise ConfigError(f"{path}: [databases.{name}] needs a url")
        unknown = set(spec) - _DB_KEYS
        if unknown:
            raise ConfigError(f"{path}: [databases.{name}] unknown key(s): {sorted(unknown)}")
        fields = {k: _resolve_secret(path, v, env) for k, v in spec.items()}
        fields["url"] = normalize_database_url(str(fields["url"]))
        for key in ("statement_timeout_ms", "max_rows", "pool_size"):
            if key in fields and (type(fields[key]) is not int or fields[key] <= 0):
                raise ConfigError(f"{path}: [databases.{name}] {key} must be a whole number > 0")
        if "search_path" in fields and not isinstance(fields["search_path"], str):
            raise ConfigError(f"{path}: [databases.{name}] search_path must be a string")
        out[name] = DatabaseSettings(name=name, **fields)
    return out


_KEY_FIELDS = frozenset({"key", "name", "allow"})


def _read_keys(path: Path, tables: Any, env: Mapping[str, str]) -> tuple[ScopedKey, ...]:
    """``[[keys]]`` tables: ``key`` (a string or a secret reference), ``name``, optional ``allow``."""
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(f"{path}: keys must be [[keys]] tables")
    out = []
    for n, table in enumerate(tables, 1):
        where = f"{path}: [[keys]] #{n}"
        unknown = set(table) - _KEY_FIELDS
        if unknown:
            raise ConfigError(f"{where}: unknown key(s): {sorted(unknown)}")
        key = _resolve_secret(path, table.get("key"), env)
        name = table.get("name")
        if not isinstance(key, str) or not key.strip():
            raise ConfigError(f"{where}: key must be a non-empty string or {{env = ...}}")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where}: name must be a non-empty string")
        allow = table.get("allow")
        if allow is not None and (not isinstance(allow, list) or not all(isinstance(a, str) for a in allow)):
            raise ConfigError(f"{where}: allow must be a list of glob strings")
        out.append(ScopedKey(name=name, key=key, allow=None if allow is None else tuple(allow)))
    return tuple(out)


def _known(where: Path | str, key: str) -> str:
    if key not in _SCALARS:
        raise ConfigError(f"{where}: unknown setting {key!r}")
    return key


def is_secret_ref(value: dict[str, Any]) -> bool:
    """``{env = "NAME"}`` or ``{file = "path"}`` (``$env``/``$file`` too): a secret reference."""
    return len(value) == 1 and next(iter(value)) in {"env", "$env", "file", "$file"}


def _resolve_secret(path: Path, value: Any, env: Mapping[str, str]) -> Any:
    """``{env = "NAME"}`` reads a variable, ``{file = "path"}`` a file; secrets stay out of git."""
    if isinstance(value, list):
        return [_resolve_secret(path, v, env) for v in value]
    if not (isinstance(value, dict) and is_secret_ref(value)):
        return value
    kind, ref = next(iter(value.items()))
    if kind.lstrip("$") == "env":
        if ref not in env:
            raise ConfigError(f"{path}: environment variable {ref} is not set")
        return env[ref]
    try:
        return (path.parent / ref).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read secret file {ref}: {exc.strerror}") from None


ENV_ALIASES = {
    "GATEWAY_DATABASE": "database_url",
    "GATEWAY_API_KEY": "api_keys",
    "GATEWAY_QUERIES": "queries_dir",
}
"""Shorter variable names for the most used settings (``GATEWAY_<NAME>`` works too; aliases win)."""


def env_vars(name: str) -> tuple[str, ...]:
    """The environment variables that set ``name``, in increasing precedence."""
    return (f"GATEWAY_{name.upper()}", *(a for a, n in ENV_ALIASES.items() if n == name))


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _SCALARS:
        for var in env_vars(name):
            if var in env and env[var] != "":
                out[name] = env[var]
    return out


def _coerce(name: str, value: Any) -> Any:
    """Turn a file, env or CLI value into the field's type, naming the setting on failure."""
    kind = str(_SCALARS[name].type)
    if name == "keys":
        if not (isinstance(value, tuple) and all(isinstance(k, ScopedKey) for k in value)):
            raise ConfigError("setting keys: only [[keys]] tables in the config file can set it")
        return value
    try:
        if "tuple" in kind:
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(str(i).strip() for i in items if str(i).strip())
        if "Path" in kind:
            return Path(value)
        if kind == "bool":
            return _to_bool(value)
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        if kind == "float":
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {name}: invalid value {value!r} (expected {kind})") from None


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError(value)


def _validate(settings: Settings) -> None:
    if (settings.ssl_keyfile is None) != (settings.ssl_certfile is None):
        raise ConfigError("--ssl-keyfile and --ssl-certfile must be given together")
    for tls_file in (settings.ssl_keyfile, settings.ssl_certfile):
        if tls_file is not None and not os.access(tls_file, os.R_OK):
            raise ConfigError(f"TLS file {tls_file} does not exist or is not readable")
    positive = (
        "statement_timeout_ms",
        "max_rows",
        "max_body_bytes",
        "max_param_length",
        "max_list_items",
        "pool_timeout_s",
        "pool_queue_depth",
        "connect_timeout_s",
        "cache_max_bytes",
        "cache_max_entry_bytes",
    )
    for name in positive:
        if getattr(settings, name) <= 0:
            raise ConfigError(f"setting {name} must be > 0")
    if not 0 < settings.port < 65536:
        raise ConfigError(f"setting port must be 1-65535, got {settings.port}")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(settings.timezone)
    except (KeyError, ValueError, OSError):
        raise ConfigError(f"setting timezone: unknown time zone {settings.timezone!r}") from None
    scoped = [k.key for k in settings.keys]
    if len(set(scoped)) != len(scoped) or set(scoped) & set(settings.api_keys):
        # One key, two scopes: which one applies would be ambiguous.
        raise ConfigError("an API key of [[keys]] is configured twice (in api_keys or [[keys]])")
    names = [k.name for k in settings.keys]
    if len(set(names)) != len(names):
        raise ConfigError("two [[keys]] tables have the same name")
    if settings.cache_admission not in ("repeat", "always"):
        raise ConfigError("setting cache_admission must be repeat or always")
    if settings.log_level.lower() not in ("debug", "info", "warning", "error"):
        raise ConfigError(f"setting log_level must be debug, info, warning or error: {settings.log_level!r}")
    if settings.log_format not in ("text", "json"):
        raise ConfigError(f"setting log_format must be text or json, got {settings.log_format!r}")
    if settings.database_url is not None:
        normalize_database_url(settings.database_url)
