"""``--reload``: watch the queries folder; swap in a new catalog only when all of it is valid.

A broken edit never reaches clients: the last good catalog keeps serving and each problem is
logged as ``path:line: message``. A valid edit is swapped in as a whole (one assignment), then
the cached responses of every query that changed or disappeared are dropped, so memory (and a
shared Redis) is not left holding bodies nobody can ask for any more. Every file under the folder
counts, ``apps/`` included; hidden files and folders (editor swap files, ``.git``) do not.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from gateway.catalog import Catalog, load_catalog
from gateway.errors import CatalogError, ConfigError
from gateway.http.state import GatewayState, Published
from gateway.startup import verify_queries

log = logging.getLogger("gateway.reload")
Snapshot = dict[Path, tuple[int, int]]
Check = Callable[[Catalog], None]
NAMESPACES = ("sql", "options")
"""Cache key prefixes of a query's responses (see gateway/http/serving.py)."""


def snapshot(root: Path) -> Snapshot:
    """(mtime_ns, size) of every visible file under ``root``."""
    out: Snapshot = {}
    for path in root.rglob("*"):
        relative = path.relative_to(root).parts
        if any(part.startswith(".") or part.endswith("~") for part in relative):
            continue
        try:
            if path.is_file():
                stat = path.stat()
                out[path] = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            continue
    return out


def changed_queries(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """Ids whose fingerprint changed or that are gone (their cached bodies are now useless)."""
    return sorted(query for query, print_ in old.items() if new.get(query) != print_)


async def reload_once(
    state: GatewayState,
    on_swap: Callable[[Catalog, Catalog], None] | None = None,
    check: Check | None = None,
) -> bool:
    """Load and verify the folder again; swap it in if valid. True when swapped.

    ``check`` adds the app's own rules (reserved param names), as at startup.
    """
    dialects = {name: source.dialect for name, source in state.sources.items()}
    try:
        catalog = load_catalog(state.settings.queries_dir, dialects)
        if check is not None:
            check(catalog)
        verified = await verify_queries(catalog, state.executor)
    except (CatalogError, ConfigError) as error:
        log.error("reload rejected, still serving the previous version:\n%s", error)
        return False
    old = state.published
    state.published = Published.of(catalog, verified.columns)
    if on_swap is not None:
        on_swap(old.catalog, catalog)
    changed = changed_queries(old.fingerprints, state.published.fingerprints)
    dropped = await _drop_cached(state, changed)
    log.info(
        "reloaded %d queries from %s (changed or removed: %s; %d cached responses dropped)",
        len(catalog),
        state.settings.queries_dir,
        ", ".join(changed) or "none",
        dropped,
    )
    return True


async def _drop_cached(state: GatewayState, queries: list[str]) -> int:
    if state.cache is None:
        return 0
    # The trailing "|" keeps `prices` from matching the entries of `prices_weekly`.
    prefixes = [f"{namespace}:{query}|" for query in queries for namespace in NAMESPACES]
    return sum([await state.cache.invalidate(prefix) for prefix in prefixes])


async def watch(
    state: GatewayState,
    interval_s: float = 1.0,
    on_swap: Callable[[Catalog, Catalog], None] | None = None,
    check: Check | None = None,
) -> None:
    """Poll for changes until cancelled (polling works on every filesystem and in containers)."""
    root = state.settings.queries_dir
    seen = snapshot(root)
    while True:
        await asyncio.sleep(interval_s)
        current = snapshot(root)
        if current != seen:
            seen = current
            try:
                await reload_once(state, on_swap, check)
            except Exception:  # a surprise must not end watching: later edits still reload
                log.exception("reload failed, still serving the previous version")
