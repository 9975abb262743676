"""Command line: the parser, and `serve`, `check`, `run` (the other commands: gateway/commands.py)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from gateway import __version__, commands
from gateway.errors import CatalogError, ConfigError, GatewayError, error_body
from gateway.progress import Progress
from gateway.settings import Settings, load_settings

log = logging.getLogger("gateway")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        result: int = args.handler(args)
        return result
    except (ConfigError, CatalogError) as error:
        print(f"error: {error}" if isinstance(error, ConfigError) else str(error), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description=__doc__)
    parser.add_argument("--version", action="version", version=f"gateway {__version__}")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = subs.add_parser("serve", help="serve the widgets over HTTP(S)")
    _common(serve)
    _server_flags(serve)
    serve.set_defaults(handler=_serve)

    check = subs.add_parser("check", help="validate every query file (and compile it on its database)")
    _common(check)
    check.add_argument(
        "--offline",
        action="store_true",
        help="only check the files; do not connect to any database",
    )
    check.set_defaults(handler=_check)

    run = subs.add_parser("run", help="run one widget and print its JSON")
    _common(run)
    run.add_argument("widget", help="widget id (file stem)")
    run.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a param value (repeat; comma-join multi-select values)",
    )
    run.set_defaults(handler=_run)

    widgets = subs.add_parser("widgets", help="print widgets.json")
    _common(widgets)
    widgets.set_defaults(handler=commands.widgets)

    apps = subs.add_parser("apps", help="print apps.json")
    _common(apps)
    apps.set_defaults(handler=commands.apps)

    cert = subs.add_parser("cert", help="write a self-signed localhost certificate and key")
    cert.add_argument("--out-dir", type=Path, default=Path("."), help="folder (default .)")
    cert.add_argument("--days", type=int, default=825, help="validity, at most 825 (Safari)")
    cert.add_argument(
        "--name",
        action="append",
        default=[],
        dest="names",
        metavar="HOST",
        help="extra DNS name or IP to include (repeat)",
    )
    cert.set_defaults(handler=commands.cert)

    demo = subs.add_parser("demo", help="create the demo schema and data in a database")
    demo.add_argument("--database", help="database URL (default: the embedded SQLite file)")
    demo.add_argument("--config", type=Path, help="config file (default ./gateway.toml)")
    demo.add_argument("--search-path", help="PostgreSQL schema to create the tables in")
    demo.add_argument("--as-of", type=date.fromisoformat, help="last day of data (YYYY-MM-DD)")
    demo.set_defaults(handler=commands.demo)

    config = subs.add_parser(
        "config", help="print the effective configuration (secrets masked) and where each value came from"
    )
    _common(config)
    _server_flags(config)
    config.add_argument("--format", choices=("toml", "json"), default="toml", help="output (default toml)")
    config.set_defaults(handler=commands.config)

    init = subs.add_parser("init", help="create a new project folder (queries, config, compose)")
    init.add_argument("dir", type=Path, help="folder to create (may exist, but not its files)")
    init.set_defaults(handler=commands.init)
    return parser


def _common(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--queries", type=Path, dest="queries_dir", help="queries folder")
    sub.add_argument("--database", dest="database_url", help="database URL (default: demo)")
    sub.add_argument("--config", type=Path, help="config file (default ./gateway.toml)")


def _server_flags(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    sub.add_argument("--port", type=int, help="port to listen on (default 8000)")
    sub.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY",
        help="require this API key (repeat for several)",
    )
    sub.add_argument("--ssl-keyfile", type=Path, help="TLS private key (PEM)")
    sub.add_argument("--ssl-certfile", type=Path, help="TLS certificate (PEM)")
    sub.add_argument(
        "--reload",
        action="store_true",
        default=None,
        help="watch the queries folder and swap in valid changes",
    )
    sub.add_argument("--log-level", choices=("debug", "info", "warning", "error"), help="default info")
    sub.add_argument("--log-format", choices=("text", "json"), help="default text")


def _settings(args: argparse.Namespace) -> Settings:
    overrides = commands.overrides(args)
    settings = load_settings(args.config, overrides=overrides)
    from gateway.logs import configure

    configure(settings.log_level, settings.log_format)
    if settings.uses_demo:
        _ensure_demo(settings.demo_path)
        settings = commands.with_demo_queries(settings, args.queries_dir)
    return settings


def _ensure_demo(path: Path) -> None:
    """Build the embedded demo on first run (or a new day), showing progress only then."""
    from gateway.demo.build import BUILD_STEPS, ensure_demo_sqlite

    with contextlib.ExitStack() as stack:
        steps: list[Any] = []

        def advance(note: str) -> None:
            if not steps:  # first call: something is being built after all
                label = f"creating the demo database {path}"
                steps.append(stack.enter_context(Progress().step(label, total=BUILD_STEPS)))
            steps[0].advance(note=note)

        asyncio.run(ensure_demo_sqlite(path, progress=advance))


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.http import create_app

    settings = _settings(args)
    app = create_app(settings)
    _refuse_busy_port(settings.host, settings.port)
    if settings.host not in ("127.0.0.1", "localhost", "::1") and not (settings.api_keys or settings.keys):
        log.warning(
            "listening on %s without an API key: anyone who can reach it can read every widget",
            settings.host,
        )
    scheme = "https" if settings.ssl_certfile else "http"
    log.info(  # a log line, not a print: with log_format=json every line of stderr is JSON
        "gateway %s: %d widgets at %s://%s:%d (add this URL in OpenBB Workspace)",
        __version__,
        len(app.state.gateway.catalog.widgets()),
        scheme,
        settings.host,
        settings.port,
    )
    # uvicorn re-raises the SIGTERM it handled once shut down; ignoring it then makes a clean
    # shutdown exit 0 (what process managers expect) instead of -15.
    signal.signal(signal.SIGTERM, lambda *_: None)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        ssl_keyfile=str(settings.ssl_keyfile) if settings.ssl_keyfile else None,
        ssl_certfile=str(settings.ssl_certfile) if settings.ssl_certfile else None,
        timeout_graceful_shutdown=30,
        server_header=False,
    )
    return 0


def _refuse_busy_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            reason = "already in use" if error.errno == errno.EADDRINUSE else error.strerror
            raise ConfigError(f"cannot listen on {host}:{port}: {reason}") from None


def _check(args: argparse.Namespace) -> int:
    from gateway.catalog import load_catalog

    settings = (
        _settings(args)
        if not args.offline
        else load_settings(
            args.config,
            overrides={"queries_dir": args.queries_dir, "database_url": args.database_url},
        )
    )
    dialects = {name: db.dialect for name, db in settings.sources().items()}
    progress = Progress()
    files = sum(1 for _ in settings.queries_dir.rglob("*.sql")) if settings.queries_dir.is_dir() else 0
    with progress.step(f"reading {files} query files in {settings.queries_dir}"):
        catalog = load_catalog(settings.queries_dir, dialects)
    checked = "files only"
    if not args.offline:
        with progress.step(
            f"compiling {len(catalog)} queries on their databases", total=len(catalog)
        ) as step:
            unreachable = asyncio.run(_verify(settings, catalog, step.advance))
        if unreachable:
            print(
                f"warning: could not reach {', '.join(unreachable)}; their queries were only checked offline",
                file=sys.stderr,
            )
        checked = "compiled on their databases"
    print(f"ok: {len(catalog)} query files valid ({checked})", file=sys.stderr)
    return 0


async def _verify(settings: Settings, catalog: Any, advance: Callable[[], None]) -> list[str]:
    """``verify_queries``, calling ``advance`` as each query is compiled (for the progress bar)."""
    from gateway.executor import Executor
    from gateway.sources import Column, open_sources
    from gateway.startup import verify_queries

    class Counting(Executor):
        async def explain(self, spec: Any, values: Any) -> list[Column]:
            try:
                return await super().explain(spec, values)
            finally:
                advance()

    sources = open_sources(settings)
    try:
        return (await verify_queries(catalog, Counting(sources))).unreachable
    finally:
        await sources.close()


def _run(args: argparse.Namespace) -> int:
    from gateway.catalog import load_catalog
    from gateway.executor import Executor
    from gateway.http.state import wall_clock
    from gateway.params import ParamLimits, parse_params
    from gateway.sources import open_sources
    from gateway.workspace.shapes import shape_options, shape_widget

    settings = _settings(args)
    sources = open_sources(settings)
    catalog = load_catalog(settings.queries_dir, {n: s.dialect for n, s in sources.items()})
    spec = catalog.get(args.widget)
    if spec is None:
        print(
            f"error: unknown widget {args.widget!r}; known: {', '.join(catalog.specs)}",
            file=sys.stderr,
        )
        return 1
    query: dict[str, list[str]] = {}
    for pair in args.param:
        name, sep, value = pair.partition("=")
        if not sep:
            print(f"error: -p expects NAME=VALUE, got {pair!r}", file=sys.stderr)
            return 2
        query.setdefault(name, []).append(value)

    async def execute() -> bytes:
        try:
            values = parse_params(
                spec,
                query,
                now=wall_clock(settings.timezone)(),
                limits=ParamLimits(settings.max_param_length, settings.max_list_items),
            )
            result = await Executor(sources).run(spec, values)
            if not spec.is_widget:
                return shape_options(spec, result, query, values)
            return shape_widget(spec, result, query, values)
        finally:
            await sources.close()

    try:
        body = asyncio.run(execute())
    except GatewayError as error:
        from gateway.workspace.encode import encode_json

        print(
            encode_json(error_body(error.status, error.code, error.message, errors=error.errors)).decode(),
            file=sys.stderr,
        )
        return 1
    sys.stdout.write(body.decode() + "\n")
    return 0
