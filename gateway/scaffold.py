"""``gateway init DIR``: a new project folder a team can run at once, in compose or locally.

Writes an example widget and the options query filling its dropdown (both on the demo tables, so
the first ``docker-compose up`` shows data), a ``gateway.toml`` listing every setting commented out
with its default and meaning (generated from ``Settings``, so it never misses one), a
``docker-compose.yml``, a ``.env`` holding a fresh API key, a ``.gitignore`` and a short README.
Nothing is ever overwritten: if one of these files exists, nothing is written at all.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import itertools
import json
import secrets
from collections.abc import Mapping
from pathlib import Path

import gateway
from gateway import __version__, settings
from gateway.config_view import plain, toml_value
from gateway.scaffold_files import COMPOSE, ENV, EXAMPLE_WIDGET, GITIGNORE, OPTIONS_QUERY, README

_EXAMPLES = {
    "database_url": '"postgresql://reader:secret@db.example.com:5432/warehouse"',
    "api_keys": '[{ env = "GATEWAY_API_KEY" }]',
    "ssl_keyfile": '"localhost.key"',
    "ssl_certfile": '"localhost.crt"',
    "cors_origins": '["http://localhost:3000"]',
    "keys": '[{ name = "research", key = { env = "RESEARCH_KEY" }, allow = ["equity_*"] }]',
}
"""Values shown for settings that are empty by default."""
_SKIP = frozenset({"queries_dir", "databases"})  # written as live lines / their own table


class ScaffoldExists(Exception):
    """Some files of the project are already there; nothing was written."""


def init_project(root: Path) -> list[Path]:
    """Write the project into ``root`` (created if needed); the paths written, in order."""
    files = project_files(gateway_source())
    existing = [root / name for name in files if (root / name).exists()]
    if existing:
        raise ScaffoldExists(", ".join(str(p) for p in existing))
    written = []
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as out:  # "x": never replace a file created meanwhile
            out.write(text)
        written.append(path)
    (root / ".env").chmod(0o600)  # it holds the API key
    return written


def project_files(source: Path | None) -> dict[str, str]:
    """Relative path -> content."""
    image = f"gateway:{__version__}"
    # Compose builds the image from the gateway checkout `init` ran from, when there is one.
    build = f"\n    build: {json.dumps(str(source))}" if source else ""
    compose = COMPOSE.replace("__IMAGE__", image).replace("__BUILD__", build)
    readme = README.replace("__IMAGE__", image).replace("__SOURCE__", str(source or "the gateway sources"))
    return {
        "queries/prices.sql": EXAMPLE_WIDGET,
        "queries/tickers.sql": OPTIONS_QUERY,
        "gateway.toml": gateway_toml(),
        "docker-compose.yml": compose,
        ".env": ENV.replace("__API_KEY__", secrets.token_urlsafe(24)),
        ".gitignore": GITIGNORE,
        "README.md": readme,
    }


def gateway_source() -> Path | None:
    """The source checkout holding the Dockerfile (an editable install), else None."""
    root = Path(gateway.__file__).resolve().parent.parent
    return root if (root / "Dockerfile").is_file() and (root / "pyproject.toml").is_file() else None


def gateway_toml() -> str:
    """Every setting, commented out with its meaning and default; ``queries_dir`` set."""
    docs = setting_docs()
    defaults = settings.Settings()
    lines = [
        "# gateway configuration. Precedence: defaults < this file < GATEWAY_* environment < flags.",
        '# Secrets stay out of this file: { env = "VAR" } or { file = "path" }.',
        "# `gateway config` prints the effective configuration (secrets masked).",
        "",
        "# Folder of .sql files, relative to this file.",
        'queries_dir = "queries"',
    ]
    for field in dataclasses.fields(settings.Settings):
        if field.name in _SKIP:
            continue
        value = plain(getattr(defaults, field.name))
        shown = _EXAMPLES.get(field.name) or ("..." if value is None else toml_value(value))
        lines += ["", f"# {docs.get(field.name, field.name)}", f"# {field.name} = {shown}"]
    lines += [
        "",
        "# Named databases; a query picks one with `database: NAME` (default: default).",
        "# [databases.default]",
        '# url = { env = "WAREHOUSE_URL" }',
        '# search_path = "analytics"',
        "# statement_timeout_ms = 5000",
        "# max_rows = 50000",
        "# pool_size = 5",
    ]
    return "\n".join(lines) + "\n"


def setting_docs() -> Mapping[str, str]:
    """Setting name -> the first line of its attribute docstring in ``gateway/settings.py``."""
    tree = ast.parse(inspect.getsource(settings.Settings))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, following in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            text = following.value.value.strip().splitlines()[0]
            docs[node.target.id] = text.replace("``", "`")
    return docs
