"""Sources layer: one async engine per named database, behind a driver per dialect."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from gateway.settings import DatabaseSettings, Settings
from gateway.sources import postgres, sqlite
from gateway.sources.base import (
    CHUNK_ROWS,
    Collector,
    Column,
    Driver,
    Fetched,
    Limits,
    Result,
    RowSink,
    Source,
)

__all__ = [
    "CHUNK_ROWS",
    "Collector",
    "Column",
    "Fetched",
    "Limits",
    "Result",
    "RowSink",
    "Source",
    "Sources",
    "open_source",
    "open_sources",
]


def open_source(db: DatabaseSettings, settings: Settings) -> Source:
    """Create the engine (no connection is opened until first use)."""
    limits = Limits(
        timeout_ms=min(settings.statement_timeout_ms, db.statement_timeout_ms or 10**9),
        max_rows=min(settings.max_rows, db.max_rows or 10**12),
    )
    driver: Driver
    if db.dialect == "postgres":
        engine = postgres.create_engine(db, settings, limits)
        driver = postgres.PostgresDriver(limits.timeout_ms)
    else:
        engine = sqlite.create_engine(db, settings, limits)
        driver = sqlite.SqliteDriver()
    return Source(
        db.name,
        engine,
        driver,
        dialect=db.dialect,
        default_limits=limits,
        pool_size=db.pool_size,
        pool_timeout_s=settings.pool_timeout_s,
        max_waiting=settings.pool_queue_depth,
    )


class Sources(Mapping[str, Source]):
    """Every configured source by name."""

    def __init__(self, sources: Mapping[str, Source]) -> None:
        self._sources = dict(sources)

    def __getitem__(self, name: str) -> Source:
        return self._sources[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._sources)

    def __len__(self) -> int:
        return len(self._sources)

    async def close(self) -> None:
        for source in self._sources.values():
            await source.close()


def open_sources(settings: Settings) -> Sources:
    return Sources({name: open_source(db, settings) for name, db in settings.sources().items()})
