"""Run the benchmark: ``python -m bench.run`` (needs PostgreSQL on 127.0.0.1:5432 and wrk).

Three servers, each a single uvicorn process pinned to CPU 0 (wrk runs on CPU 1, PostgreSQL
where the OS puts it): the gateway serving bench/queries, the hand-written endpoints
(bench/handwritten.py) and a pre-encoded static body (bench/static.py). Workloads alternate
between the servers for several rounds; the report gives medians and ratios from the same run,
because these machines drift by +-15 % between runs. Results go to bench/results.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import asyncpg
import httpx

from bench.dataset import BENCH_URL, ensure_dataset

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
SERVER_CPU, CLIENT_CPU = "0", "1"


@dataclass
class Server:
    name: str
    argv: list[str]
    paths: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    def url(self, workload: str) -> str:
        return f"http://127.0.0.1:{self.port}{self.paths[workload]}"

    def peak_rss_mb(self) -> float:
        assert self.proc is not None
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        return int(match.group(1)) / 1024 if match else float("nan")


@dataclass
class Sample:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def servers(cache: bool) -> list[Server]:
    gateway_env = {
        "GATEWAY_LOG_LEVEL": "warning",
        "GATEWAY_CACHE_URL": "memory" if cache else "off",
        "GATEWAY_MAX_ROWS": "200000",
    }
    uvicorn = [sys.executable, "-m", "uvicorn", "--log-level", "warning", "--no-access-log"]
    return [
        Server(
            "gateway",
            [
                sys.executable,
                "-m",
                "gateway",
                "serve",
                "--queries",
                str(BENCH / "queries"),
                "--database",
                BENCH_URL,
            ],
            {
                "w1": "/sql/bars",
                "w2": "/sql/bars?ticker=T0001&start=2024-01-01&end=2024-12-31",
                "history": "/sql/history",
                "cross": "/sql/cross_section",
            },
            gateway_env,
        ),
        Server(
            "handwritten",
            [*uvicorn, "bench.handwritten:app"],
            {
                "w1": "/bars",
                "w2": "/bars?ticker=T0001&start=2024-01-01&end=2024-12-31",
                "history": "/history",
                "cross": "/cross_section",
            },
        ),
        Server(
            "static",
            [*uvicorn, "bench.static:app"],
            {"w1": "/static", "w2": "/static", "history": "/static", "cross": "/static"},
        ),
    ]


@contextmanager
def running(group: list[Server]) -> Iterator[list[Server]]:
    try:
        for server in group:
            server.port = free_port()
            argv = ["taskset", "-c", SERVER_CPU, *server.argv, "--port", str(server.port)]
            env = {**os.environ, **server.env, "PYTHONPATH": str(ROOT)}
            server.proc = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        for server in group:
            wait_ready(server)
        yield group
    finally:
        for server in group:
            if server.proc is not None:
                server.proc.send_signal(signal.SIGTERM)
        for server in group:
            if server.proc is not None:
                try:
                    server.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    server.proc.kill()
                    server.proc.wait()


def wait_ready(server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.proc is not None
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited: {server.proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:  # /health touches no table, so statement counts start clean
            if httpx.get(f"http://127.0.0.1:{server.port}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not start")


def wrk(
    url: str, seconds: int, connections: int, script: str | None = None, args: tuple[str, ...] = ()
) -> Sample:
    argv = [
        "taskset",
        "-c",
        CLIENT_CPU,
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "30s",
    ]
    if script:
        argv += ["-s", str(BENCH / script)]
    base = url.split("?")[0] if script else url
    argv.append(base)
    if args:
        argv += ["--", *args]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return Sample(rps, _latency(out, "50%"), _latency(out, "99%"), errors)


def _latency(out: str, pct: str) -> float:
    match = re.search(rf"{re.escape(pct)}\s+([\d.]+)(us|ms|s)\b", out)
    if match is None:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


async def bars_scans() -> int:
    """Index + sequential scans PostgreSQL counted on the bars table (one per statement).

    Call it with no server running: a backend flushes its statistics when its session ends,
    so the servers are stopped (their sessions closed) before counting.
    """
    await asyncio.sleep(1.0)
    conn = await asyncpg.connect(BENCH_URL)
    try:
        return int(
            await conn.fetchval(
                "SELECT coalesce(idx_scan, 0) + coalesce(seq_scan, 0) FROM pg_stat_user_tables "
                "WHERE relname = 'bars'"
            )
        )
    finally:
        await conn.close()


async def herd(url: str, n: int = 200) -> int:
    """``n`` simultaneous requests for one cold key; how many answered 200."""
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        responses = await asyncio.gather(*(client.get(url) for _ in range(n)))
    return sum(r.status_code == 200 for r in responses)


def statements(server: Server, action: Callable[[Server], float]) -> tuple[float, float]:
    """Run ``action`` against ``server`` alone: (statements PostgreSQL ran, action's result)."""
    before = asyncio.run(bars_scans())
    with running([server]):
        result = action(server)
    return asyncio.run(bars_scans()) - before, result


@dataclass
class Report:
    rows: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        print(line, flush=True)
        self.rows.append(line)


def median_sample(samples: list[Sample]) -> Sample:
    return Sample(
        statistics.median(s.rps for s in samples),
        statistics.median(s.p50_ms for s in samples),
        statistics.median(s.p99_ms for s in samples),
        sum(s.errors for s in samples),
    )


def measure(
    group: list[Server],
    workload: str,
    rounds: int,
    seconds: int,
    connections: int,
    script: str | None,
    extra: tuple[str, ...] = (),
) -> dict[str, Sample]:
    samples: dict[str, list[Sample]] = {s.name: [] for s in group}
    for _ in range(rounds):
        for server in group:  # alternate servers inside each round
            prefix = server.paths[workload].split("?")[0]
            samples[server.name].append(
                wrk(server.url(workload), seconds, connections, script, (prefix, *extra) if script else ())
            )
    return {name: median_sample(s) for name, s in samples.items()}


def table(
    report: Report, title: str, results: dict[str, Sample], baseline: str, rss: dict[str, float] | None = None
) -> None:
    report.add(f"\n### {title}\n")
    header = "| server | req/s | ratio to " + baseline + " | p50 ms | p99 ms | errors |"
    rule = "|---|---:|---:|---:|---:|---:|"
    if rss:
        header += " peak RSS MB |"
        rule += "---:|"
    report.add(header)
    report.add(rule)
    base = results[baseline].rps
    for name, s in results.items():
        ratio = s.rps / base
        line = f"| {name} | {s.rps:,.0f} | {ratio:.2f}x | {s.p50_ms:.2f} | {s.p99_ms:.2f} | {s.errors} |"
        if rss:
            line += f" {rss[name]:.0f} |"
        report.add(line)


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    return (
        f"{os.cpu_count()} CPUs ({cpu}), Linux {platform.release()}, Python "
        f"{platform.python_version()}, {pg}; servers pinned to CPU {SERVER_CPU}, wrk to CPU "
        f"{CLIENT_CPU}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per workload")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--out", type=Path, default=BENCH / "results.md")
    args = parser.parse_args()
    rows = asyncio.run(ensure_dataset())
    report = Report()
    report.add(f"# Benchmark results ({date.today()})\n")
    report.add(f"Machine: {machine()}.\n")
    report.add(
        f"Dataset: {rows:,} daily bars (500 tickers x 10 years), PostgreSQL `gw_bench`. "
        f"{args.rounds} alternating rounds x {args.seconds} s per server, {args.connections} "
        "connections; medians."
    )
    with running(servers(cache=True)) as group:
        w1 = measure(group[:2], "w1", args.rounds, args.seconds, args.connections, "w1.lua")
        table(report, "W1 uncached: random ticker x random one-year window (252 rows)", w1, "handwritten")
        w2 = measure(group, "w2", args.rounds, args.seconds, args.connections, None)
        table(report, "W2 hot: the same request every time", w2, "static")
        report.add(f"\nW2 gateway / handwritten: {w2['gateway'].rps / w2['handwritten'].rps:.2f}x")
    for workload, title, conns in (
        ("history", "W3a big: one ticker's full history (2,520 rows)", 16),
        ("cross", "W3b big: 500 tickers x 200 days (100,000 rows, ~10 MB)", 4),
    ):
        with running(servers(cache=False)[:2]) as group:
            result = measure(
                group,
                workload,
                args.rounds,
                args.seconds,
                conns,
                "w3.lua",
                ("history" if workload == "history" else "cross",),
            )
            rss = {s.name: s.peak_rss_mb() for s in group}
        table(report, title + " (gateway cache off: the database path)", result, "handwritten", rss)
    report.add("\n### SQL statements per request (W1, 5 s, one server at a time)\n")
    for server in servers(cache=True)[:2]:
        prefix = (server.paths["w1"],)
        count, requests = statements(
            server, lambda s, prefix=prefix: wrk(s.url("w1"), 5, args.connections, "w1.lua", prefix).rps * 5
        )
        report.add(
            f"- {server.name}: {count / requests:.2f} ({count:.0f} statements, ~{requests:.0f} requests)"
        )
    report.add("\n### W4 herd: 200 simultaneous requests for one cold key\n")
    report.add("| server | SQL statements | 200 OK |")
    report.add("|---|---:|---:|")
    for server in servers(cache=True)[:2]:
        path = server.paths["w1"] + "?ticker=T0042&start=2019-03-01&end=2020-02-29"
        count, ok = statements(
            server, lambda s, path=path: asyncio.run(herd(f"http://127.0.0.1:{s.port}{path}"))
        )
        report.add(f"| {server.name} | {count:.0f} | {ok:.0f}/200 |")
    args.out.write_text("\n".join(report.rows) + "\n")
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
