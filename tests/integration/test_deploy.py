"""Deployment files keep their promises, checked with the real ``docker-compose config`` (skipped
locally without the binary, required under ``CI=true``; no Docker engine is needed):

- docker-compose.yml: PostgreSQL with a volume and a healthcheck, a one-shot ``migrate`` started once
  PostgreSQL is healthy, the gateway started once ``migrate`` succeeded, with ``./queries`` mounted
  read-only, Redis only in the ``redis`` profile, and every ``GATEWAY_*`` variable a real setting;
  swapping the bundled database for the user's own takes one variable (``GATEWAY_DATABASE``).
- Dockerfile: a non-root user, a healthcheck on ``/health``, ``gateway serve`` on 0.0.0.0.
- ``gateway init DIR`` writes a project whose queries pass ``gateway check --offline``, whose
  compose file validates, and it never overwrites a file.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import stat
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.demo.build import BUILD_STEPS
from gateway.settings import Settings, env_vars
from tests.conftest import IN_CI
from tests.integration.test_cli import clean_env, gateway

ROOT = Path(__file__).resolve().parents[2]
SETTING_VARS = {var for field in dataclasses.fields(Settings) for var in env_vars(field.name)}


def compose_config(compose_file: Path, *args: str, **env: str) -> dict[str, Any]:
    """The file as ``docker-compose config`` resolves it (variables substituted, validated)."""
    if shutil.which("docker-compose") is None:
        if IN_CI:
            pytest.fail("docker-compose is not installed (CI=true: required)")
        pytest.skip("docker-compose is not installed")
    result = subprocess.run(
        ["docker-compose", "-f", str(compose_file), *args, "config"],
        cwd=compose_file.parent,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def assert_compose_promises(config: dict[str, Any]) -> None:
    services = config["services"]
    assert set(services) == {"postgres", "migrate", "gateway", "redis"}

    postgres = services["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(v.startswith("pgdata:/var/lib/postgresql/data") for v in postgres["volumes"])

    migrate = services["migrate"]
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert migrate["command"][:2] == ["gateway", "demo"] and migrate["restart"] == "no"

    app = services["gateway"]
    assert app["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert any(re.fullmatch(r".+/queries:/app/queries:ro", v) for v in app["volumes"])
    assert [p["target"] for p in app["ports"]] == [8000]
    assert app["environment"]["GATEWAY_DATABASE"] == "postgresql://gateway:gateway@postgres:5432/gateway"
    assert app["environment"]["GATEWAY_RELOAD"] == "true"
    assert set(app["environment"]) <= SETTING_VARS, "a GATEWAY_* variable that no setting reads"

    assert services["redis"]["profiles"] == ["redis"]
    assert "profiles" not in app and "profiles" not in postgres


def test_compose_file_keeps_its_promises() -> None:
    assert_compose_promises(compose_config(ROOT / "docker-compose.yml"))


def test_compose_takes_the_users_database_from_one_variable() -> None:
    url = "postgresql://reader:secret@db.example.com:5432/warehouse"

    config = compose_config(ROOT / "docker-compose.yml", GATEWAY_DATABASE=url)

    assert config["services"]["gateway"]["environment"]["GATEWAY_DATABASE"] == url
    # The bundled database is only ever written by `migrate`, with its own fixed URL.
    assert url not in " ".join(config["services"]["migrate"]["command"])


def test_dockerfile_runs_gateway_serve_as_a_non_root_user_with_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    final_stage = text.rsplit("\nFROM ", 1)[1]

    user = re.search(r"^USER (\S+)$", final_stage, re.MULTILINE)
    assert user is not None and user[1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/health", final_stage, re.MULTILINE)
    assert 'CMD ["gateway", "serve"]' in final_stage
    assert "GATEWAY_HOST=0.0.0.0" in final_stage
    declared = set(re.findall(r"\b(GATEWAY_[A-Z_]+)=", final_stage))
    assert declared <= SETTING_VARS


def test_demo_loader_of_the_migrate_service_reports_every_step(tmp_path: Path) -> None:
    result = gateway("demo", "--database", f"sqlite:///{tmp_path / 'demo.sqlite'}", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    done = rf"^loading the demo data into .+: done \({BUILD_STEPS}/{BUILD_STEPS}, [\d.]+ s\)$"
    assert re.search(done, result.stderr, re.MULTILINE)
    assert re.search(r"^demo data up to \d{4}-\d\d-\d\d loaded: \d+ tickers", result.stderr, re.MULTILINE)


# ---------------------------------------------------------------------------------- gateway init


def test_init_writes_a_project_that_checks_and_validates(tmp_path: Path) -> None:
    result = gateway("init", "team", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    project = tmp_path / "team"

    check = gateway("check", "--offline", "--queries", project / "queries", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert "reading 2 query files" in check.stderr and "2 query files valid" in check.stderr

    env_file = project / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    key = re.search(r"^GATEWAY_API_KEY=(\S{20,})$", env_file.read_text(), re.MULTILINE)
    assert key is not None
    assert key[1] not in result.stdout + result.stderr  # never echoed
    config = compose_config(project / "docker-compose.yml")
    assert_compose_promises(config)
    assert config["services"]["gateway"]["environment"]["GATEWAY_API_KEY"] == key[1]  # read from .env
    assert ".env" in (project / ".gitignore").read_text().split()


def test_init_gateway_toml_lists_every_setting_and_is_valid_toml(tmp_path: Path) -> None:
    assert gateway("init", "team", cwd=tmp_path).returncode == 0
    toml = tmp_path / "team" / "gateway.toml"
    text = toml.read_text()

    # Uncommented, the example lines `# name = value` form a TOML document naming every setting.
    top_level = text.split("# [databases.default]")[0]
    examples = re.findall(r"^#? ?([a-z_]+ = .+)$", top_level, re.MULTILINE)
    settings = {f.name for f in dataclasses.fields(Settings)}
    assert set(tomllib.loads("\n".join(examples))) == settings - {"databases"}
    assert "[databases.default]" in text
    config = gateway("config", "--format", "json", cwd=tmp_path / "team")
    assert config.returncode == 0, config.stderr  # the file as written is a valid config


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    project = tmp_path / "team"
    (project / "queries").mkdir(parents=True)
    (project / "gateway.toml").write_text("port = 9000\n")

    result = gateway("init", project, cwd=tmp_path)

    assert result.returncode == 1
    assert "gateway.toml" in result.stderr and "Traceback" not in result.stderr
    assert (project / "gateway.toml").read_text() == "port = 9000\n"
    assert sorted(p.name for p in project.rglob("*")) == ["gateway.toml", "queries"]
