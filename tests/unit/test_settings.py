"""Settings merge in one fixed order, defaults < TOML file < ``GATEWAY_*`` environment < explicit
overrides. Database URLs always end up on the async drivers, secrets are resolved from the
environment or files, and every unknown key, unreadable secret or inconsistent value is a ConfigError
that names it. Passwords never show in a masked URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import ConfigError
from gateway.settings import Settings, load_settings, mask_url, normalize_database_url


@pytest.fixture(autouse=True)
def _no_gateway_toml_in_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``load_settings`` reads ./gateway.toml when present: run every test from an empty folder."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(text, encoding="utf-8")
    return path


def config_error(*args: object, **kwargs: object) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(*args, **kwargs)  # type: ignore[arg-type]
    return str(info.value)


# -- precedence ----------------------------------------------------------------------------------


def test_load_settings_returns_defaults_without_file_env_or_overrides() -> None:
    settings = load_settings(None, {}, None)

    assert settings == Settings()
    assert settings.uses_demo
    assert list(settings.sources()) == ["default"]
    assert settings.sources()["default"].url.startswith("sqlite+aiosqlite:///")


def test_load_settings_file_overrides_defaults(tmp_path: Path) -> None:
    settings = load_settings(config(tmp_path, "port = 9000\nmax_rows = 50\n"), {}, None)

    assert (settings.port, settings.max_rows, settings.host) == (9000, 50, "127.0.0.1")


def test_load_settings_env_overrides_file(tmp_path: Path) -> None:
    settings = load_settings(
        config(tmp_path, "port = 9000\nhost = '0.0.0.0'\n"), {"GATEWAY_PORT": "9100"}, None
    )

    assert (settings.port, settings.host) == (9100, "0.0.0.0")


def test_load_settings_overrides_beat_env_and_file(tmp_path: Path) -> None:
    settings = load_settings(config(tmp_path, "port = 9000\n"), {"GATEWAY_PORT": "9100"}, {"port": 9200})

    assert settings.port == 9200


def test_load_settings_ignores_none_overrides_and_empty_env(tmp_path: Path) -> None:
    settings = load_settings(config(tmp_path, "port = 9000\n"), {"GATEWAY_MAX_ROWS": ""}, {"port": None})

    assert (settings.port, settings.max_rows) == (9000, Settings().max_rows)


def test_load_settings_reads_grouping_tables_as_flat_settings(tmp_path: Path) -> None:
    path = config(tmp_path, "[server]\nhost = '0.0.0.0'\nport = 8443\n[limits]\nmax_list_items = 7\n")

    settings = load_settings(path, {}, None)

    assert (settings.host, settings.port, settings.max_list_items) == ("0.0.0.0", 8443, 7)


def test_load_settings_coerces_env_text_to_field_types() -> None:
    env = {
        "GATEWAY_RELOAD": "yes",
        "GATEWAY_POOL_TIMEOUT_S": "0.5",
        "GATEWAY_CORS_ORIGINS": "http://a.example, http://b.example,",
        "GATEWAY_QUERIES": "my_queries",
        "GATEWAY_API_KEY": "k1,k2",
    }

    settings = load_settings(None, env, None)

    assert settings.reload is True
    assert settings.pool_timeout_s == 0.5
    assert settings.cors_origins == ("http://a.example", "http://b.example")
    assert settings.queries_dir == Path("my_queries")
    assert settings.api_keys == ("k1", "k2")


def test_load_settings_resolves_queries_dir_relative_to_config_file(tmp_path: Path) -> None:
    settings = load_settings(config(tmp_path, "queries_dir = 'widgets'\n"), {}, None)

    assert settings.queries_dir == tmp_path / "widgets"


def test_load_settings_finds_config_file_through_gateway_config(tmp_path: Path) -> None:
    path = config(tmp_path, "port = 9321\n")

    assert load_settings(None, {"GATEWAY_CONFIG": str(path)}, None).port == 9321


def test_load_settings_reads_gateway_toml_in_working_directory() -> None:
    Path("gateway.toml").write_text("port = 9444\n", encoding="utf-8")

    assert load_settings(None, {}, None).port == 9444


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"GATEWAY_PORT": "abc"}, "setting port"),
        ({"GATEWAY_PORT": "0"}, "port must be 1-65535"),
        ({"GATEWAY_PORT": "65536"}, "port must be 1-65535"),
        ({"GATEWAY_MAX_ROWS": "-1"}, "max_rows must be > 0"),
        ({"GATEWAY_RELOAD": "perhaps"}, "setting reload"),
        ({"GATEWAY_POOL_TIMEOUT_S": "0"}, "pool_timeout_s must be > 0"),
    ],
)
def test_load_settings_rejects_invalid_value_naming_the_setting(env: dict[str, str], words: str) -> None:
    assert words in config_error(None, env, None)


def test_load_settings_rejects_boolean_for_integer_setting(tmp_path: Path) -> None:
    assert "setting port" in config_error(config(tmp_path, "port = true\n"), {}, None)


# -- database URLs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@db:5432/app", "postgresql+asyncpg://u:p@db:5432/app"),
        ("postgres://db/app", "postgresql+asyncpg://db/app"),
        ("POSTGRESQL://db/app", "postgresql+asyncpg://db/app"),
        ("postgresql+asyncpg://db/app", "postgresql+asyncpg://db/app"),
        ("sqlite:///data/x.db", "sqlite+aiosqlite:///data/x.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_normalize_database_url_maps_onto_async_drivers(url: str, expected: str) -> None:
    assert normalize_database_url(url) == expected


@pytest.mark.parametrize("url", ["mysql://db/app", "postgresql+psycopg2://db/app", "oracle://x"])
def test_normalize_database_url_rejects_unsupported_scheme(url: str) -> None:
    with pytest.raises(ConfigError, match="unsupported database URL scheme"):
        normalize_database_url(url)


def test_normalize_database_url_rejects_text_without_scheme_and_hides_password() -> None:
    with pytest.raises(ConfigError) as info:
        normalize_database_url("user:hunter2@db")

    assert "scheme://" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_load_settings_maps_default_database_url_and_its_dialect() -> None:
    settings = load_settings(None, {"GATEWAY_DATABASE": "postgresql://u@db/app"}, None)

    default = settings.sources()["default"]
    assert default.url == "postgresql+asyncpg://u@db/app"
    assert default.dialect == "postgres"
    assert not settings.uses_demo


def test_load_settings_rejects_unsupported_default_database_url() -> None:
    assert "unsupported database URL scheme 'mysql'" in config_error(
        None, {"GATEWAY_DATABASE": "mysql://db"}, None
    )


def test_load_settings_reads_named_database_tables(tmp_path: Path) -> None:
    path = config(
        tmp_path,
        "[databases.warehouse]\nurl = 'postgresql://wh/db'\npool_size = 3\nsearch_path = 'mart'\n"
        "[databases.local]\nurl = 'sqlite:///local.db'\nmax_rows = 10\n",
    )

    settings = load_settings(path, {}, None)

    warehouse, local = settings.databases["warehouse"], settings.databases["local"]
    assert (warehouse.url, warehouse.pool_size, warehouse.search_path) == (
        "postgresql+asyncpg://wh/db",
        3,
        "mart",
    )
    assert (local.url, local.max_rows, local.dialect) == ("sqlite+aiosqlite:///local.db", 10, "sqlite")
    assert set(settings.sources()) == {"warehouse", "local", "default"}


def test_load_settings_database_url_replaces_url_of_default_table_keeping_its_options(tmp_path: Path) -> None:
    path = config(tmp_path, "[databases.default]\nurl = 'sqlite:///a.db'\npool_size = 2\n")

    settings = load_settings(path, {"GATEWAY_DATABASE_URL": "postgresql://db/app"}, None)

    default = settings.sources()["default"]
    assert (default.url, default.pool_size) == ("postgresql+asyncpg://db/app", 2)


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ("databases = 1\n", "[databases] must be a table"),
        ("[databases.wh]\npool_size = 3\n", "[databases.wh] needs a url"),
        ("[databases]\nwh = 'postgresql://db/app'\n", "[databases.wh] needs a url"),
        ("[databases.wh]\nurl = 'sqlite:///x.db'\npoolsize = 3\n", "unknown key(s): ['poolsize']"),
        ("[databases.wh]\nurl = 'mysql://x'\n", "unsupported database URL scheme"),
    ],
)
def test_load_settings_rejects_bad_database_table(tmp_path: Path, toml: str, words: str) -> None:
    assert words in config_error(config(tmp_path, toml), {}, None)


# -- secrets -------------------------------------------------------------------------------------


def test_load_settings_resolves_env_secret(tmp_path: Path) -> None:
    path = config(tmp_path, "api_keys = {env = 'GW_KEYS'}\n[databases.wh]\nurl = {env = 'WH_URL'}\n")

    settings = load_settings(path, {"GW_KEYS": "k1,k2", "WH_URL": "postgresql://u:pw@wh/db"}, None)

    assert settings.api_keys == ("k1", "k2")
    assert settings.databases["wh"].url == "postgresql+asyncpg://u:pw@wh/db"


def test_load_settings_resolves_file_secret_relative_to_config_and_strips_newline(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("s3cret\n", encoding="utf-8")
    path = config(tmp_path, "[auth]\napi_keys = [{file = 'secret.txt'}, 'plain']\n")

    assert load_settings(path, {}, None).api_keys == ("s3cret", "plain")


def test_load_settings_accepts_dollar_prefixed_secret_references(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("from-file", encoding="utf-8")
    path = config(tmp_path, "api_keys = [{'$env' = 'K'}, {'$file' = 'key'}]\n")

    assert load_settings(path, {"K": "from-env"}, None).api_keys == ("from-env", "from-file")


def test_load_settings_rejects_missing_env_secret_naming_variable(tmp_path: Path) -> None:
    message = config_error(config(tmp_path, "api_keys = {env = 'NOT_SET_ANYWHERE'}\n"), {}, None)

    assert "environment variable NOT_SET_ANYWHERE is not set" in message


def test_load_settings_rejects_missing_file_secret_naming_file(tmp_path: Path) -> None:
    message = config_error(config(tmp_path, "[databases.wh]\nurl = {file = 'db_url.txt'}\n"), {}, None)

    assert "cannot read secret file db_url.txt" in message


# -- unknown keys and bad files ------------------------------------------------------------------


@pytest.mark.parametrize("toml", ["bogus = 1\n", "[server]\nprot = 80\n", "secret = {env = 'UNSET'}\n"])
def test_load_settings_rejects_unknown_key_in_file(tmp_path: Path, toml: str) -> None:
    message = config_error(config(tmp_path, toml), {}, None)

    assert "unknown setting" in message
    assert str(tmp_path / "gateway.toml") in message


def test_load_settings_rejects_unknown_override_key() -> None:
    assert "unknown setting 'bogus'" in config_error(None, {}, {"bogus": 1})


def test_load_settings_ignores_unrelated_environment_variables() -> None:
    assert load_settings(None, {"GATEWAY_NOT_A_SETTING": "1", "PATH": "/bin"}, None) == Settings()


def test_load_settings_rejects_invalid_toml(tmp_path: Path) -> None:
    assert "invalid TOML" in config_error(config(tmp_path, "port = \n"), {}, None)


def test_load_settings_rejects_missing_config_file(tmp_path: Path) -> None:
    assert "cannot read config file" in config_error(tmp_path / "absent.toml", {}, None)


# -- TLS and time zone ---------------------------------------------------------------------------


def test_load_settings_rejects_ssl_key_without_cert(tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    key.write_text("key", encoding="utf-8")

    assert "must be given together" in config_error(None, {}, {"ssl_keyfile": key})


def test_load_settings_rejects_ssl_cert_without_key(tmp_path: Path) -> None:
    cert = tmp_path / "c.pem"
    cert.write_text("cert", encoding="utf-8")

    assert "must be given together" in config_error(None, {"GATEWAY_SSL_CERTFILE": str(cert)}, None)


def test_load_settings_rejects_unreadable_tls_file(tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    key.write_text("key", encoding="utf-8")

    message = config_error(None, {}, {"ssl_keyfile": key, "ssl_certfile": tmp_path / "missing.pem"})

    assert "missing.pem" in message


def test_load_settings_accepts_readable_key_and_cert(tmp_path: Path) -> None:
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    key.write_text("key", encoding="utf-8")
    cert.write_text("cert", encoding="utf-8")

    settings = load_settings(None, {}, {"ssl_keyfile": str(key), "ssl_certfile": str(cert)})

    assert (settings.ssl_keyfile, settings.ssl_certfile) == (key, cert)


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../etc/passwd", "", "UTC+25"])
def test_load_settings_rejects_unknown_timezone(zone: str) -> None:
    assert "unknown time zone" in config_error(None, {}, {"timezone": zone})


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/New_York"])
def test_load_settings_accepts_iana_timezone(zone: str) -> None:
    assert load_settings(None, {"GATEWAY_TIMEZONE": zone}, None).timezone == zone


# -- masking -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://app:hunter2@db:5432/prod", "postgresql://app:***@db:5432/prod"),
        (
            "postgresql+asyncpg://app:p%40ss@db/prod?ssl=require",
            "postgresql+asyncpg://app:***@db/prod?ssl=require",
        ),
        ("postgresql://app:pa@ss@db/prod", "postgresql://app:***@db/prod"),
        ("postgresql://db/prod?user=app&password=hunter2", "postgresql://db/prod?user=app&password=***"),
        (
            "postgresql://db/prod?PASSWORD=hunter2&sslmode=require",
            "postgresql://db/prod?PASSWORD=***&sslmode=require",
        ),
        ("app:hunter2@db/prod", "app:***@db/prod"),
    ],
)
def test_mask_url_hides_password(url: str, masked: str) -> None:
    assert mask_url(url) == masked
    assert "hunter2" not in mask_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app@db/prod",
        "postgresql://db/prod",
        "sqlite:///data/x.db",
        "sqlite+aiosqlite:///x.db",
        "db:5432",
    ],
)
def test_mask_url_leaves_url_without_password_unchanged(url: str) -> None:
    assert mask_url(url) == url
