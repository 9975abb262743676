"""``gateway config`` prints the configuration the other commands would use, merged in the same
order (defaults < file < env < flags), names where each value came from, and never prints a
secret: API keys (flag, env, file, scoped ``[[keys]]``) and passwords of database and Redis URLs
show as ``***`` in both TOML and JSON. The TOML output is itself a valid config file: read back,
it gives the same settings (when it holds no secret).

Each test runs ``python -m gateway config`` in a subprocess, in a fresh folder, with no
``GATEWAY_*`` variable inherited from the caller.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from gateway.settings import load_settings
from tests.integration.test_cli import clean_env

SECRETS = ("ENVKEY0", "FLAGKEY0", "SCOPEDKEY0", "DBPASS0", "FLAGDBPASS0", "QUERYPASS0", "REDISPASS0")


def gateway_config(*args: object, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "config", *map(str, args)],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def as_json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_config_names_the_origin_of_each_value_in_precedence_order(tmp_path: Path) -> None:
    (tmp_path / "gateway.toml").write_text(
        'port = 9000\nmax_rows = 500\n[server]\nhost = "0.0.0.0"\n', encoding="utf-8"
    )

    document = as_json(
        gateway_config("--format", "json", "--port", 9100, cwd=tmp_path, GATEWAY_MAX_ROWS="600")
    )

    values, origins = document["settings"], document["origins"]
    assert document["config_file"] == "gateway.toml"
    assert (values["port"], origins["port"]) == (9100, "flag --port")
    assert (values["max_rows"], origins["max_rows"]) == (600, "env GATEWAY_MAX_ROWS")
    assert (values["host"], origins["host"]) == ("0.0.0.0", "file gateway.toml")
    assert (values["timezone"], origins["timezone"]) == ("UTC", "default")
    assert origins["databases"] == {"default": "default (the embedded demo database)"}


@pytest.mark.parametrize("output", ["toml", "json"])
def test_config_masks_every_secret(tmp_path: Path, output: str) -> None:
    (tmp_path / "scoped.key").write_text("SCOPEDKEY0\n", encoding="utf-8")
    (tmp_path / "gateway.toml").write_text(
        'api_keys = [{ env = "TEAM_KEY" }]\n'
        'cache_url = "redis://:REDISPASS0@localhost:6379/0"\n'
        "[[keys]]\n"
        'name = "research"\n'
        'key = { file = "scoped.key" }\n'
        'allow = ["equity_*"]\n'
        "[databases.warehouse]\n"
        'url = "postgresql://reader:DBPASS0@db.example.com/warehouse"\n',
        encoding="utf-8",
    )
    flags = ["--api-key", "FLAGKEY0", "--database", "postgresql://u:FLAGDBPASS0@h/db?password=QUERYPASS0"]

    result = gateway_config("--format", output, *flags, cwd=tmp_path, TEAM_KEY="ENVKEY0")

    assert result.returncode == 0, result.stderr
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr
    values = (json.loads if output == "json" else tomllib.loads)(result.stdout)
    values = values["settings"] if output == "json" else values
    assert values["api_keys"] == ["***"]
    assert values["keys"] == [{"name": "research", "key": "***", "allow": ["equity_*"]}]
    assert values["cache_url"] == "redis://:***@localhost:6379/0"
    assert (
        values["databases"]["warehouse"]["url"] == "postgresql+asyncpg://reader:***@db.example.com/warehouse"
    )
    assert values["database_url"] == "postgresql://u:***@h/db?password=***"


def test_config_toml_output_read_back_gives_the_same_settings(tmp_path: Path) -> None:
    original = tmp_path / "gateway.toml"
    original.write_text(
        'queries_dir = "widgets"\nstatement_timeout_ms = 3000\ncors_origins = ["http://localhost:3000"]\n'
        "[databases.market]\n"
        'url = "sqlite:///market.sqlite"\nmax_rows = 50\n',
        encoding="utf-8",
    )

    result = gateway_config("--reload", "--log-format", "json", cwd=tmp_path, GATEWAY_PORT="8100")

    assert result.returncode == 0, result.stderr
    printed = tmp_path / "printed.toml"
    printed.write_text(result.stdout, encoding="utf-8")
    expected = load_settings(
        original, env={"GATEWAY_PORT": "8100"}, overrides={"reload": True, "log_format": "json"}
    )
    assert load_settings(printed, env={}) == expected


def test_config_with_an_invalid_value_exits_1_naming_the_setting(tmp_path: Path) -> None:
    result = gateway_config(cwd=tmp_path, GATEWAY_LOG_FORMAT="xml")

    assert result.returncode == 1
    assert "log_format" in result.stderr
    assert "Traceback" not in result.stderr
