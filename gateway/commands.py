"""Handlers of the commands that do not serve: widgets, apps, cert, demo, config, init.

``gateway/cli.py`` builds the parser and runs ``serve``, ``check`` and ``run``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

from gateway.progress import Progress
from gateway.settings import Settings, config_path, load_settings, mask_url

FLAGS = {
    "queries_dir": "--queries",
    "database_url": "--database",
    "host": "--host",
    "port": "--port",
    "api_keys": "--api-key",
    "ssl_keyfile": "--ssl-keyfile",
    "ssl_certfile": "--ssl-certfile",
    "reload": "--reload",
    "log_level": "--log-level",
    "log_format": "--log-format",
}
"""Setting -> the command-line flag that overrides it (``gateway config`` names the flag)."""


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as flags (None: not given) of the command ``args`` belongs to."""
    return {name: getattr(args, name) for name in FLAGS if hasattr(args, name)}


def with_demo_queries(settings: Settings, queries_flag: Path | None) -> Settings:
    """The bundled demo queries when no folder was given and the configured one does not exist."""
    if queries_flag is not None or settings.queries_dir.is_dir():
        return settings
    from gateway.demo.build import bundled_path

    return dataclasses.replace(settings, queries_dir=bundled_path("queries"))


def _manifest(args: argparse.Namespace) -> Any:
    from gateway.catalog import load_catalog

    settings = load_settings(
        args.config, overrides={"queries_dir": args.queries_dir, "database_url": args.database_url}
    )
    settings = with_demo_queries(settings, args.queries_dir)
    return load_catalog(settings.queries_dir, {n: db.dialect for n, db in settings.sources().items()})


def widgets(args: argparse.Namespace) -> int:
    from gateway.workspace.encode import encode_json
    from gateway.workspace.widgets import build_widgets

    sys.stdout.write(_pretty(encode_json(build_widgets(_manifest(args)))))
    return 0


def apps(args: argparse.Namespace) -> int:
    from gateway.workspace.apps import build_apps
    from gateway.workspace.encode import encode_json

    sys.stdout.write(_pretty(encode_json(build_apps(_manifest(args)))))
    return 0


def _pretty(body: bytes) -> str:
    import msgspec

    return msgspec.json.format(body, indent=2).decode() + "\n"


def cert(args: argparse.Namespace) -> int:
    from gateway.tls import write_self_signed

    try:
        files = write_self_signed(args.out_dir, days=args.days, extra_names=tuple(args.names))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"wrote {files.certfile} and {files.keyfile} (valid until "
        f"{files.not_after:%Y-%m-%d})\n"
        f"serve with: gateway serve --ssl-keyfile {files.keyfile} "
        f"--ssl-certfile {files.certfile}\n"
        "then trust the certificate (see README, 'HTTPS'), e.g. on macOS:\n"
        f"  sudo security add-trusted-cert -d -r trustRoot -k "
        f"/Library/Keychains/System.keychain {files.certfile}",
        file=sys.stderr,
    )
    return 0


def demo(args: argparse.Namespace) -> int:
    from gateway.demo.build import BUILD_STEPS, build_demo

    settings = load_settings(args.config, overrides={"database_url": args.database})
    url = settings.sources()["default"].url
    with Progress().step(f"loading the demo data into {mask_url(url)}", total=BUILD_STEPS) as step:
        info = asyncio.run(
            build_demo(
                url,
                as_of=args.as_of,
                search_path=args.search_path,
                progress=lambda note: step.advance(note=note),
            )
        )
    rows = ", ".join(f"{n} {t}" for t, n in info.rows.items())
    print(f"demo data up to {info.as_of} loaded: {rows}", file=sys.stderr)
    return 0


def config(args: argparse.Namespace) -> int:
    from gateway import config_view

    given = overrides(args)
    settings = load_settings(args.config, overrides=given)
    flags = {name: FLAGS[name] for name, value in given.items() if value is not None}
    path = config_path(args.config, os.environ)
    origins = config_view.origins(path, os.environ, flags)
    render = config_view.render_json if args.format == "json" else config_view.render_toml
    sys.stdout.write(render(settings, origins, path))
    return 0


def init(args: argparse.Namespace) -> int:
    from gateway.scaffold import ScaffoldExists, init_project

    try:
        written = init_project(args.dir)
    except ScaffoldExists as error:
        print(f"error: these files already exist, nothing was written: {error}", file=sys.stderr)
        return 1
    names = ", ".join(str(path.relative_to(args.dir)) for path in written)
    print(
        f"created {args.dir}: {names}\n"
        "next:\n"
        f"  cd {args.dir} && docker-compose up   # demo PostgreSQL + gateway on http://localhost:8000\n"
        f"  the API key is in {args.dir / '.env'} (Workspace: header X-API-Key)\n"
        f"  without Docker: cd {args.dir} && gateway serve --reload\n"
        f"  your own database: see {args.dir / 'README.md'}",
        file=sys.stderr,
    )
    return 0
