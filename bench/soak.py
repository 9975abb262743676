"""Soak: ``python -m bench.soak --minutes 3`` (PostgreSQL 15 at 127.0.0.1:5432, run as root).

A bounded load test on loopback, never part of the CI suite (#6). ``gateway serve`` runs as a
subprocess on the demo queries over a PostgreSQL copy of the demo data; workers send a mix of
good requests (cache hits, misses, dropdowns, manifests, injection text) and bad ones (invalid
params, NUL bytes, no key, unknown widgets, clients that give up mid-query) while PostgreSQL is
restarted once, in the middle. Pass: no 5xx but the documented 503/504, every answer the one its
request deserves, RSS and PostgreSQL connections back to their warm level, exit code 0 on SIGTERM.
PostgreSQL is always running again when the script ends.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from gateway.demo.build import build_demo, bundled_path
from tests.faults import pg_sockets

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
SCHEMA = "gw_soak"
KEY = "soak-key"
WORKERS = 16
RESULTS = Path(__file__).resolve().parent / "results.md"
SLOW = "/*\n---\nname: Slow\ncache: false\n---\n*/\nSELECT pg_sleep(0.3), 1 AS one\n"
TICKERS = ("AAPL", "MSFT", "JPM", "KO", "XOM", "NVDA", "AMZN", "PFE")


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    wrong: Counter[str] = field(default_factory=Counter)
    """Answers a request of that kind must never get, by kind and status."""
    abandoned: int = 0
    transport_errors: Counter[str] = field(default_factory=Counter)
    rss_samples: list[float] = field(default_factory=list)
    """RSS (MB) every few seconds under load."""


def request_mix(rng: random.Random, today: date) -> tuple[str, str, dict[str, str], dict[str, str], set[int]]:
    """(kind, path, params, headers, acceptable statuses) of one random request."""
    auth = {"X-API-Key": KEY}
    day = (today - timedelta(days=rng.randint(30, 900))).isoformat()
    ok = {200, 503, 504}  # 503/504 are the documented answers while the database restarts
    choices = [
        (30, ("hit", "/sql/daily_prices", {"ticker": "AAPL"}, auth, ok)),
        (20, ("miss", "/sql/daily_prices", {"ticker": rng.choice(TICKERS), "start": day}, auth, ok)),
        (8, ("options", "/options/ticker_options", {}, auth, ok)),
        (8, ("manifest", "/widgets.json", {}, auth, {200})),
        (6, ("injection", "/sql/daily_prices", {"ticker": "' OR 1=1 --"}, auth, ok)),
        (6, ("invalid", "/sql/daily_prices", {"start": "2025-02-30", "end": "x"}, auth, {422})),
        (4, ("nul", "/sql/daily_prices", {"ticker": "AA\x00PL"}, auth, {422})),
        (6, ("no_key", "/sql/daily_prices", {}, {}, {401})),
        (6, ("unknown", "/sql/no_such_widget", {}, auth, {404})),
        (3, ("slow", "/sql/slow", {}, auth, ok)),
        (3, ("abandon", "/sql/slow", {}, auth, {503})),  # refused before the client gave up
    ]
    weights = [w for w, _ in choices]
    return rng.choices([c for _, c in choices], weights)[0]


async def worker(client: httpx.AsyncClient, until: float, seed: int, tally: Tally) -> None:
    rng, today = random.Random(seed), date.today()
    while time.monotonic() < until:
        kind, path, params, headers, acceptable = request_mix(rng, today)
        timeout = 0.05 if kind == "abandon" else 30.0  # the client gives up mid-query
        try:
            response = await client.get(path, params=params, headers=headers, timeout=timeout)
        except httpx.TimeoutException:
            tally.abandoned += kind == "abandon"
            if kind != "abandon":
                tally.transport_errors[f"{kind}: timeout"] += 1
            continue
        except httpx.TransportError as error:
            tally.transport_errors[f"{kind}: {type(error).__name__}"] += 1
            continue
        tally.statuses[response.status_code] += 1
        if response.status_code not in acceptable:
            tally.wrong[f"{kind} {response.status_code}"] += 1


async def sample_rss(pid: int, samples: list[float], every_s: float = 5.0) -> None:
    while True:
        samples.append(rss_mb(pid))
        await asyncio.sleep(every_s)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pg_ready() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], check=False).returncode == 0


def restart_postgres() -> float:
    """Restart the cluster; the seconds it took until it accepts connections again."""
    started = time.monotonic()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart"], check=False)
    ensure_postgres_up()
    return time.monotonic() - started


def ensure_postgres_up() -> None:
    for _ in range(60):
        if pg_ready():
            return
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "start"], check=False)
        time.sleep(1)
    raise SystemExit("PostgreSQL did not come back: start it with pg_ctlcluster 15 main start")


async def prepare_schema() -> None:
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}")
    finally:
        await conn.close()
    await build_demo(PG_URL, search_path=SCHEMA)


async def drop_schema() -> None:
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    finally:
        await conn.close()


def write_config(folder: Path) -> Path:
    queries = folder / "queries"
    shutil.copytree(bundled_path("queries"), queries)
    (queries / "slow.sql").write_text(SLOW, encoding="utf-8")
    config = folder / "gateway.toml"
    config.write_text(
        f'queries_dir = "queries"\napi_keys = ["{KEY}"]\nlog_level = "warning"\n'
        f"cache_max_bytes = {16 << 20}\nstatement_timeout_ms = 5000\n"
        f'[databases.default]\nurl = "{PG_URL}"\nsearch_path = "{SCHEMA}"\npool_size = 5\n',
        encoding="utf-8",
    )
    return config


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def wait_until_up(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(300):
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("gateway serve did not start")


async def load(base: str, seconds: float, tally: Tally) -> None:
    limits = httpx.Limits(max_connections=WORKERS * 2)
    async with httpx.AsyncClient(base_url=base, limits=limits) as client:
        until = time.monotonic() + seconds
        await asyncio.gather(*(worker(client, until, seed, tally) for seed in range(WORKERS)))


async def soak(minutes: float, folder: Path) -> dict[str, Any]:
    config = write_config(folder)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (folder / "serve.log").open("wb")
    argv = [sys.executable, "-m", "gateway", "serve", "--config", str(config), "--port", str(port)]
    proc = await asyncio.create_subprocess_exec(*argv, cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    try:
        await wait_until_up(base)
        total = minutes * 60
        warm, tally = Tally(), Tally()
        await load(base, min(45.0, total / 4), warm)  # warm-up: caches, pools, allocator
        before = {"rss_mb": rss_mb(proc.pid), "pg_connections": pg_sockets(proc.pid)}
        loaded = asyncio.create_task(load(base, total, tally))
        sampling = asyncio.create_task(sample_rss(proc.pid, tally.rss_samples))
        await asyncio.sleep(total * 0.4)
        restart_s = await asyncio.to_thread(restart_postgres)
        await loaded
        sampling.cancel()
        await asyncio.sleep(5)  # idle: let pools and caches settle
        after = {"rss_mb": rss_mb(proc.pid), "pg_connections": pg_sockets(proc.pid)}
        proc.send_signal(signal.SIGTERM)
        exit_code = await asyncio.wait_for(proc.wait(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        log.close()
    return report(minutes, tally, before, after, restart_s, exit_code, folder)


def report(
    minutes: float,
    tally: Tally,
    before: dict[str, float],
    after: dict[str, float],
    restart_s: float,
    exit_code: int,
    folder: Path,
) -> dict[str, Any]:
    server_errors = {s: n for s, n in tally.statuses.items() if s >= 500 and s not in (503, 504)}
    tracebacks = (folder / "serve.log").read_text(errors="replace").count("Traceback")
    checks = {
        "no 5xx but 503/504": not server_errors,
        "every answer as expected": not tally.wrong,
        "no transport errors": not tally.transport_errors,
        # The response cache and the memos fill up to their bounds first, so growth is judged on
        # the plateau: no more than 5 % over the second half of the run, and nothing after it.
        "RSS flat over the second half (+5%)": _second_half_growth(tally.rss_samples) <= 0.05,
        "RSS after the run not above its peak": after["rss_mb"] <= max(tally.rss_samples, default=0) * 1.02,
        "connections not above warm level": after["pg_connections"] <= max(before["pg_connections"], 5),
        "exit code 0": exit_code == 0,
        "no traceback in the log": tracebacks == 0,
    }
    return {
        "minutes": minutes,
        "requests": sum(tally.statuses.values()) + tally.abandoned,
        "statuses": dict(sorted(tally.statuses.items())),
        "abandoned_by_client": tally.abandoned,
        "wrong_answers": dict(tally.wrong),
        "transport_errors": dict(tally.transport_errors),
        "postgres_restart_s": round(restart_s, 1),
        "rss_mb": {
            "warm": round(before["rss_mb"], 1),
            "mid_run": round(_middle(tally.rss_samples), 1),
            "peak": round(max(tally.rss_samples, default=0), 1),
            "after": round(after["rss_mb"], 1),
        },
        "pg_connections": {"warm": before["pg_connections"], "after": after["pg_connections"]},
        "checks": checks,
        "passed": all(checks.values()),
    }


def _middle(samples: list[float]) -> float:
    return samples[len(samples) // 2] if samples else float("nan")


def _second_half_growth(samples: list[float]) -> float:
    if len(samples) < 4:
        return 0.0
    return samples[-1] / _middle(samples) - 1


def markdown(result: dict[str, Any]) -> str:
    statuses = ", ".join(f"{s}: {n:,}" for s, n in result["statuses"].items())
    rss, conns = result["rss_mb"], result["pg_connections"]
    checks = "\n".join(f"- {'pass' if ok else 'FAIL'}: {name}" for name, ok in result["checks"].items())
    return (
        f"\n## Soak ({date.today().isoformat()}, `python -m bench.soak --minutes {result['minutes']}`)\n\n"
        f"{WORKERS} concurrent clients on loopback, mixed good and bad requests, PostgreSQL restarted "
        f"once mid-run (back in {result['postgres_restart_s']} s).\n\n"
        f"- requests: {result['requests']:,} "
        f"({result['abandoned_by_client']:,} abandoned by the client mid-query)\n"
        f"- statuses: {statuses}\n"
        f"- RSS: {rss['warm']} MB after warm-up, {rss['mid_run']} MB mid-run, "
        f"{rss['peak']} MB peak, {rss['after']} MB after\n"
        f"- PostgreSQL connections: {conns['warm']} warm, {conns['after']} after\n"
        f"{checks}\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--write-results", action="store_true", help=f"append the figures to {RESULTS}")
    args = parser.parse_args()
    ensure_postgres_up()
    asyncio.run(prepare_schema())
    try:
        with tempfile.TemporaryDirectory(prefix="gw-soak-") as folder:
            result = asyncio.run(soak(args.minutes, Path(folder)))
    finally:
        ensure_postgres_up()
        asyncio.run(drop_schema())
    print(json.dumps(result, indent=2))
    if args.write_results:
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write(markdown(result))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
