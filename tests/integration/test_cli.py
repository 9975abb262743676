"""The `gateway` command keeps the CLI contract of the design: `check` reports every problem as
`path:line: message` with a non-zero exit (offline and against SQLite/PostgreSQL), `run` prints a
widget's JSON or the JSON error body, `widgets`/`apps` print manifests Workspace accepts, `cert`
writes a certificate browsers accept, and `serve` speaks HTTPS with it, refuses bad setups with a
clear message and stops cleanly on SIGTERM.

Every test runs the real entry point (`python -m gateway ...`) in a subprocess, in a fresh working
directory, with no `GATEWAY_*` variable inherited from the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import re
import signal
import socket
import sqlite3
import ssl
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from gateway.demo.build import build_demo
from tests.conftest import DEMO_QUERIES, PG_ADMIN_URL, PG_HOST, PG_PORT, require_service
from tests.openbb_rules import apps_problems, widgets_problems

DEMO_AS_OF = date(2024, 6, 28)
PROBLEM_LINE = re.compile(r"^(?P<path>\S+\.sql):(?P<line>\d+): (?P<message>.+)$")
FRONT_MATTER = """/*
---
name: {name}
description: {name} (test file)
{extra}---
*/
"""


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(extra)
    return env


def gateway(*args: object, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``python -m gateway ARGS`` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "gateway", *map(str, args)],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def problem_lines(output: str) -> dict[str, tuple[int, str]]:
    """``{path: (line, message)}`` of every ``path:line: message`` line; one per file expected."""
    found: dict[str, tuple[int, str]] = {}
    for raw in output.splitlines():
        match = PROBLEM_LINE.match(raw.strip())
        if match:
            assert match["path"] not in found, f"two problems reported for {match['path']}:\n{output}"
            found[match["path"]] = (int(match["line"]), match["message"])
    return found


def write_query(folder: Path, name: str, sql: str, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.sql"
    path.write_text(FRONT_MATTER.format(name=name, extra=extra) + sql, encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    """1-based number of the only line of ``path`` containing ``needle``."""
    hits = [n for n, text in enumerate(path.read_text().splitlines(), 1) if needle in text]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# ---------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def demo_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo SQLite file whose data ends on a fixed day."""
    path = tmp_path_factory.mktemp("cli-demo") / "demo.sqlite"
    asyncio.run(build_demo(f"sqlite:///{path}", as_of=DEMO_AS_OF))
    return path


@pytest.fixture(scope="module")
def pg_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A gateway.toml whose default source is a fresh PostgreSQL schema filled by `gateway demo`."""
    require_service("PostgreSQL", PG_HOST, PG_PORT)
    schema = f"gw_cli_{uuid.uuid4().hex[:10]}"
    folder = tmp_path_factory.mktemp("cli-pg")
    asyncio.run(_pg_execute(f"CREATE SCHEMA {schema}"))
    try:
        demo = gateway(
            "demo", "--database", PG_ADMIN_URL, "--search-path", schema, "--as-of", DEMO_AS_OF, cwd=folder
        )
        assert demo.returncode == 0, demo.stderr
        config = folder / "gateway.toml"
        config.write_text(f'[databases.default]\nurl = "{PG_ADMIN_URL}"\nsearch_path = "{schema}"\n')
        yield config
    finally:
        asyncio.run(_pg_execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))


async def _pg_execute(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def broken_on_database(tmp_path: Path) -> dict[str, Path]:
    """Files that pass the offline checks but name a column / table the demo schema lacks."""
    folder = tmp_path / "dbq"
    write_query(
        folder,
        "fine",
        "SELECT symbol, name\nFROM tickers\nORDER BY symbol\n",
    )
    missing_column = write_query(
        folder,
        "missing_column",
        "SELECT date,\n       close,\n       dividend\nFROM prices\nWHERE symbol = :ticker\n",
        extra="params:\n  - paramName: ticker\n    type: text\n    value: AAPL\n",
    )
    missing_table = write_query(folder, "missing_table", "SELECT *\nFROM\n  dividends\n")
    return {"missing_column": missing_column, "missing_table": missing_table}


def _sql_lines(path: Path) -> range:
    """File lines holding SQL (after the line closing the front-matter comment)."""
    closing = line_of(path, "*/")
    return range(closing + 1, len(path.read_text().splitlines()) + 1)


# ---------------------------------------------------------------------------------- gateway check


def test_check_offline_accepts_the_demo_queries(tmp_path: Path) -> None:
    result = gateway("check", "--offline", "--queries", DEMO_QUERIES, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^ok\b", result.stdout + result.stderr, re.MULTILINE)
    assert problem_lines(result.stdout + result.stderr) == {}
    assert not (tmp_path / ".gateway").exists()  # offline never builds the embedded demo


def test_check_offline_reports_each_broken_file_with_its_path_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    undeclared = write_query(
        folder,
        "undeclared",
        "SELECT *\nFROM prices\nWHERE symbol = :ticker\n  AND date > :since\n",
        extra="params:\n  - paramName: ticker\n    type: text\n    value: AAPL\n",
    )
    bad_enum = write_query(
        folder,
        "bad_enum",
        "SELECT * FROM prices WHERE symbol = :ticker\n",
        extra="params:\n  - paramName: ticker\n    type: dropdownish\n    value: AAPL\n",
    )
    two_statements = write_query(folder, "two_statements", "SELECT 1 AS one;\nSELECT 2 AS two\n")
    write_query(folder, "valid", "SELECT symbol FROM tickers\n")

    result = gateway("check", "--offline", "--queries", "broken", cwd=tmp_path)

    assert result.returncode != 0
    output = result.stdout + result.stderr
    problems = problem_lines(output)
    assert set(problems) == {
        "broken/undeclared.sql",
        "broken/bad_enum.sql",
        "broken/two_statements.sql",
    }, output
    line, message = problems["broken/undeclared.sql"]
    assert line == line_of(undeclared, ":since") and "since" in message
    line, message = problems["broken/bad_enum.sql"]
    assert line == line_of(bad_enum, "dropdownish") and "dropdownish" in message
    line, message = problems["broken/two_statements.sql"]
    assert line == line_of(two_statements, "SELECT 2") and "statement" in message


def test_check_against_sqlite_accepts_the_demo_queries(tmp_path: Path, demo_sqlite: Path) -> None:
    result = gateway(
        "check", "--queries", DEMO_QUERIES, "--database", f"sqlite:///{demo_sqlite}", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert problem_lines(result.stdout + result.stderr) == {}
    assert not (tmp_path / ".gateway").exists()  # an explicit database never builds the demo


def test_check_against_sqlite_reports_missing_table_and_column_inside_the_query(
    tmp_path: Path, demo_sqlite: Path, broken_on_database: dict[str, Path]
) -> None:
    offline = gateway("check", "--offline", "--queries", "dbq", cwd=tmp_path)
    assert offline.returncode == 0, offline.stderr  # only the database can tell

    result = gateway("check", "--queries", "dbq", "--database", f"sqlite:///{demo_sqlite}", cwd=tmp_path)

    assert result.returncode != 0
    output = result.stdout + result.stderr
    problems = problem_lines(output)
    assert set(problems) == {"dbq/missing_column.sql", "dbq/missing_table.sql"}, output
    for stem, name in (("missing_column", "dividend"), ("missing_table", "dividends")):
        line, message = problems[f"dbq/{stem}.sql"]
        assert name in message
        # SQLite gives no position; the line must still point into the SQL, not the front-matter.
        assert line in _sql_lines(broken_on_database[stem]), (stem, line, output)


@pytest.mark.postgres
def test_check_against_postgres_accepts_the_demo_queries(tmp_path: Path, pg_config: Path) -> None:
    result = gateway("check", "--queries", DEMO_QUERIES, "--config", pg_config, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert problem_lines(result.stdout + result.stderr) == {}


@pytest.mark.postgres
def test_check_against_postgres_reports_the_exact_line_of_a_missing_table_and_column(
    tmp_path: Path, pg_config: Path, broken_on_database: dict[str, Path]
) -> None:
    result = gateway("check", "--queries", "dbq", "--config", pg_config, cwd=tmp_path)

    assert result.returncode != 0
    output = result.stdout + result.stderr
    problems = problem_lines(output)
    assert set(problems) == {"dbq/missing_column.sql", "dbq/missing_table.sql"}, output
    line, message = problems["dbq/missing_column.sql"]
    assert line == line_of(broken_on_database["missing_column"], "dividend") and "dividend" in message
    line, message = problems["dbq/missing_table.sql"]
    assert line == line_of(broken_on_database["missing_table"], "dividends") and "dividends" in message


# ------------------------------------------------------------------------------------ gateway run


def test_run_prints_the_rows_of_the_requested_range(tmp_path: Path, demo_sqlite: Path) -> None:
    result = gateway(
        "run", "daily_prices",
        "-p", "ticker=MSFT", "-p", "start=2024-01-01", "-p", "end=2024-01-31",
        "--database", f"sqlite:///{demo_sqlite}", "--queries", DEMO_QUERIES,
        cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert isinstance(rows, list) and rows
    assert all("2024-01-01" <= row["date"] <= "2024-01-31" for row in rows)
    assert [row["date"] for row in rows] == sorted(row["date"] for row in rows)
    with contextlib.closing(sqlite3.connect(demo_sqlite)) as db:
        expected = db.execute(
            "SELECT date, close FROM prices WHERE symbol = 'MSFT' "
            "AND date BETWEEN '2024-01-01' AND '2024-01-31' ORDER BY date"
        ).fetchall()
    assert [(row["date"], row["close"]) for row in rows] == expected


def test_run_with_bad_params_prints_the_json_error_body_on_stderr(tmp_path: Path, demo_sqlite: Path) -> None:
    result = gateway(
        "run", "daily_prices",
        "-p", "ticker=MSFT", "-p", "start=not-a-date", "-p", "end=2024-13-01",
        "--database", f"sqlite:///{demo_sqlite}", "--queries", DEMO_QUERIES,
        cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 1
    assert result.stdout == ""
    body_line = next(line for line in reversed(result.stderr.splitlines()) if line.startswith("{"))
    body = json.loads(body_line)
    assert body["status"] == 422 and body["code"] == "invalid_parameter"
    assert body["error"] == body["detail"]
    assert {e["param"] for e in body["errors"]} == {"start", "end"}  # every bad one listed


def test_run_of_an_unknown_widget_exits_1(tmp_path: Path, demo_sqlite: Path) -> None:
    result = gateway(
        "run",
        "no_such_widget",
        "--database",
        f"sqlite:///{demo_sqlite}",
        "--queries",
        DEMO_QUERIES,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no_such_widget" in result.stderr


# ----------------------------------------------------------------------------- widgets and apps


@pytest.fixture(scope="module")
def widgets_manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    result = gateway("widgets", "--queries", DEMO_QUERIES, cwd=tmp_path_factory.mktemp("widgets"))
    assert result.returncode == 0, result.stderr
    manifest: dict[str, Any] = json.loads(result.stdout)
    return manifest


def test_widgets_prints_a_manifest_workspace_accepts(widgets_manifest: dict[str, Any]) -> None:
    assert widgets_problems(widgets_manifest) == []
    assert "daily_prices" in widgets_manifest and len(widgets_manifest) >= 8
    assert "ticker_options" not in widgets_manifest


def test_apps_prints_apps_workspace_accepts(tmp_path: Path, widgets_manifest: dict[str, Any]) -> None:
    result = gateway("apps", "--queries", DEMO_QUERIES, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    apps = json.loads(result.stdout)
    assert isinstance(apps, list) and apps
    assert apps_problems(apps, widgets_manifest) == []


# ------------------------------------------------------------------------------------ gateway cert


def test_cert_writes_a_localhost_certificate_browsers_accept(tmp_path: Path) -> None:
    result = gateway("cert", "--out-dir", "tls", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    certfile, keyfile = tmp_path / "tls" / "localhost.crt", tmp_path / "tls" / "localhost.key"
    cert = x509.load_pem_x509_certificate(certfile.read_bytes())

    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    ips = san.get_values_for_type(x509.IPAddress)
    assert ipaddress.ip_address("127.0.0.1") in ips and ipaddress.ip_address("::1") in ips
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert basic.ca is True
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.value.key_cert_sign  # keyUsage present on a CA: keyCertSign required by Chromium
    # Safari: NotAfter - NotBefore must not exceed 825 days.
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= timedelta(days=825)
    assert cert.not_valid_before_utc <= cert.not_valid_after_utc

    assert stat.S_IMODE(keyfile.stat().st_mode) == 0o600
    key = serialization.load_pem_private_key(keyfile.read_bytes(), password=None)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()  # type: ignore[union-attr]


def test_cert_refuses_a_validity_longer_than_825_days(tmp_path: Path) -> None:
    result = gateway("cert", "--out-dir", "tls", "--days", "900", cwd=tmp_path)
    assert result.returncode != 0
    assert "825" in result.stderr
    assert not (tmp_path / "tls" / "localhost.key").exists()


# ------------------------------------------------------------------------------------ gateway serve


@contextlib.contextmanager
def serving(
    args: list[object], cwd: Path, *, ready_url: str, verify: ssl.SSLContext | bool = True
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``gateway serve ARGS``; yield once ``ready_url`` answers; always stop it."""
    log_path = cwd / "serve.log"
    with (
        log_path.open("wb") as log,
        subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", *map(str, args)],
            cwd=cwd,
            env=clean_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        ) as proc,
    ):
        try:
            _wait_until_answers(proc, ready_url, verify, log_path)
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _wait_until_answers(
    proc: subprocess.Popen[bytes], url: str, verify: ssl.SSLContext | bool, log_path: Path
) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"gateway serve exited with {proc.returncode}:\n{log_path.read_text()}")
        try:
            httpx.get(url, verify=verify, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"gateway serve did not answer {url} within 30 s:\n{log_path.read_text()}")


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    result = gateway("cert", "--out-dir", folder, cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder / "localhost.key", folder / "localhost.crt"


@pytest.fixture(scope="module")
def trusting(tls_files: tuple[Path, Path]) -> ssl.SSLContext:
    """A client TLS context that trusts exactly the generated certificate."""
    return ssl.create_default_context(cafile=str(tls_files[1]))


@pytest.fixture(scope="module")
def https_port(
    tmp_path_factory: pytest.TempPathFactory,
    demo_sqlite: Path,
    tls_files: tuple[Path, Path],
    trusting: ssl.SSLContext,
) -> Iterator[int]:
    """A `gateway serve` over HTTPS with API key ``secret``."""
    keyfile, certfile = tls_files
    port = free_port()
    args: list[object] = [
        "--port", port, "--ssl-keyfile", keyfile, "--ssl-certfile", certfile, "--api-key", "secret",
        "--database", f"sqlite:///{demo_sqlite}", "--queries", DEMO_QUERIES,
    ]  # fmt: skip
    cwd = tmp_path_factory.mktemp("https")
    with serving(args, cwd, ready_url=f"https://127.0.0.1:{port}/health", verify=trusting):
        yield port


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_https_serves_widgets_to_a_client_trusting_the_certificate(
    host: str, https_port: int, trusting: ssl.SSLContext
) -> None:
    url = f"https://{host}:{https_port}/widgets.json"
    with httpx.Client(verify=trusting, timeout=10) as client:
        response = client.get(url, headers={"X-API-Key": "secret"})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert "daily_prices" in response.json()
        assert client.get(url).status_code == 401  # the key is still required over TLS


def test_plain_http_to_the_tls_port_fails_fast(https_port: int) -> None:
    started = time.monotonic()
    try:
        response = httpx.get(
            f"http://127.0.0.1:{https_port}/widgets.json", headers={"X-API-Key": "secret"}, timeout=10
        )
    except httpx.TimeoutException:
        pytest.fail("plain HTTP to the TLS port hung")
    except httpx.TransportError:
        pass  # the server dropped the connection: clean refusal
    else:
        assert response.status_code == 400
    assert time.monotonic() - started < 5


def test_client_not_trusting_the_certificate_is_refused(https_port: int) -> None:
    system_store = ssl.create_default_context()
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(
            f"https://localhost:{https_port}/widgets.json",
            headers={"X-API-Key": "secret"},
            verify=system_store,
            timeout=10,
        )


def test_serve_with_only_a_keyfile_exits_with_a_clear_message(
    tmp_path: Path, demo_sqlite: Path, tls_files: tuple[Path, Path]
) -> None:
    result = gateway(
        "serve", "--port", free_port(), "--ssl-keyfile", tls_files[0],
        "--database", f"sqlite:///{demo_sqlite}", "--queries", DEMO_QUERIES,
        cwd=tmp_path, timeout=30,
    )  # fmt: skip
    assert result.returncode != 0
    assert "--ssl-certfile" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_on_a_busy_port_exits_saying_already_in_use(tmp_path: Path, demo_sqlite: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = gateway(
            "serve", "--port", port, "--database", f"sqlite:///{demo_sqlite}", "--queries", DEMO_QUERIES,
            cwd=tmp_path, timeout=30,
        )  # fmt: skip
    assert result.returncode != 0
    assert "already in use" in result.stderr
    assert str(port) in result.stderr
    assert "Traceback" not in result.stderr


def test_sigterm_stops_the_server_with_exit_code_0(tmp_path: Path, demo_sqlite: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args: list[object] = ["--port", port, "--database", f"sqlite:///{demo_sqlite}", "--queries", DEMO_QUERIES]
    with (
        serving(args, tmp_path, ready_url=f"{base}/health") as proc,
        httpx.Client(base_url=base, timeout=10) as client,
    ):
        assert client.get("/sql/daily_prices").status_code == 200  # leaves an idle keep-alive connection
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        try:
            code = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail("gateway serve ignored SIGTERM for 15 s")
        assert code == 0, (tmp_path / "serve.log").read_text()
        assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("config", "warned"),
    [
        ("", True),
        ('[[keys]]\nname = "team"\nkey = "team-key-123"\nallow = ["*"]\n', False),
        ('api_keys = ["shared-key-123"]\n', False),
    ],
)
def test_serving_beyond_loopback_warns_only_when_no_key_is_configured(
    tmp_path: Path, demo_sqlite: Path, config: str, warned: bool
) -> None:
    (tmp_path / "gateway.toml").write_text(config)
    port = free_port()
    database = f"sqlite:///{demo_sqlite}"
    args: list[object] = ["--host", "0.0.0.0", "--port", port, "--database", database]
    args += ["--queries", DEMO_QUERIES]
    with serving(args, tmp_path, ready_url=f"http://127.0.0.1:{port}/health"):
        pass
    log = (tmp_path / "serve.log").read_text()
    assert ("without an API key" in log) is warned, log
    assert "team-key-123" not in log and "shared-key-123" not in log


# ------------------------------------------------------------------------------------------ misc


def test_python_dash_m_gateway_prints_the_version(tmp_path: Path) -> None:
    from gateway import __version__

    result = gateway("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert __version__ in result.stdout + result.stderr
