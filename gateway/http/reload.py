"""``--reload``: watch the queries folder; swap in a new catalog only when all of it is valid.

A broken edit never reaches clients: the last good catalog keeps serving and each problem is
logged as ``path:line: message``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from gateway.catalog import Catalog, load_catalog
from gateway.errors import CatalogError
from gateway.http.state import GatewayState, Published
from gateway.startup import verify_queries

log = logging.getLogger("gateway.reload")
Snapshot = dict[Path, tuple[int, int]]


def snapshot(root: Path) -> Snapshot:
    """(mtime_ns, size) of every file under ``root``."""
    out: Snapshot = {}
    for path in root.rglob("*"):
        try:
            if path.is_file():
                stat = path.stat()
                out[path] = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            continue
    return out


async def reload_once(state: GatewayState, on_swap: Callable[[Catalog, Catalog], None] | None = None) -> bool:
    """Load and verify the folder again; swap it in if valid. True when swapped."""
    dialects = {name: source.dialect for name, source in state.sources.items()}
    try:
        catalog = load_catalog(state.settings.queries_dir, dialects)
        verified = await verify_queries(catalog, state.executor)
    except CatalogError as error:
        log.error("reload rejected, still serving the previous version:\n%s", error)
        return False
    old = state.catalog
    state.published = Published.of(catalog, verified.columns)
    if on_swap is not None:
        on_swap(old, catalog)
    log.info("reloaded %d queries from %s", len(catalog), state.settings.queries_dir)
    return True


async def watch(
    state: GatewayState,
    interval_s: float = 1.0,
    on_swap: Callable[[Catalog, Catalog], None] | None = None,
) -> None:
    """Poll for changes until cancelled (polling works on every filesystem and in containers)."""
    root = state.settings.queries_dir
    seen = snapshot(root)
    while True:
        await asyncio.sleep(interval_s)
        current = snapshot(root)
        if current != seen:
            seen = current
            await reload_once(state, on_swap)
