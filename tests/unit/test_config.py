"""Settings: packaged defaults < TOML file < CMMS_<SECTION>_<KEY> variables < keyword overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmms.config import ConfigError, load_settings


def test_defaults_without_environment() -> None:
    s = load_settings(env={})
    assert s.server.host == "127.0.0.1"
    assert s.server.port == 8080
    assert s.database.url == ""
    assert s.jwt.access_ttl == 900
    assert s.auth.max_failures_account == 5
    assert s.embedded is True


def test_environment_overrides_and_converts_types() -> None:
    s = load_settings(
        env={"CMMS_SERVER_PORT": "9001", "CMMS_SERVER_SHUTDOWN_TIMEOUT": "2.5", "CMMS_LOG_LEVEL": "DEBUG"}
    )
    assert s.server.port == 9001
    assert isinstance(s.server.port, int)
    assert s.server.shutdown_timeout == 2.5
    assert s.log.level == "DEBUG"


def test_short_forms_of_the_contract() -> None:
    env = {
        "CMMS_DATABASE_URL": "postgresql://db/x",
        "CMMS_REDIS_URL": "redis://r:6379/1",
        "CMMS_ELASTICSEARCH_URL": "http://es:9200",
        "CMMS_JWT_SECRET": "s" * 40,
        "CMMS_DATA_DIR": "/tmp/cmms-data-test",
        "CMMS_SMTP_URL": "smtp://mail:25",
    }
    s = load_settings(env=env)
    assert s.database.url == "postgresql://db/x"
    assert s.redis.url == "redis://r:6379/1"
    assert s.elasticsearch.url == "http://es:9200"
    assert s.jwt.secret == "s" * 40
    assert s.data_dir == Path("/tmp/cmms-data-test")
    assert s.smtp.url == "smtp://mail:25"
    assert s.embedded is False


def test_file_then_environment_then_keyword(tmp_path: Path) -> None:
    config = tmp_path / "cmms.toml"
    config.write_text('[server]\nport = 7000\nhost = "0.0.0.0"\n[jwt]\naccess_ttl = 60\n')
    s = load_settings(config, env={})
    assert (s.server.port, s.server.host, s.jwt.access_ttl) == (7000, "0.0.0.0", 60)
    s = load_settings(config, env={"CMMS_SERVER_PORT": "7001"})
    assert (s.server.port, s.server.host) == (7001, "0.0.0.0")
    s = load_settings(config, env={"CMMS_SERVER_PORT": "7001"}, server_port=7002, server_host=None)
    assert (s.server.port, s.server.host) == (7002, "0.0.0.0")  # None means "not given"


def test_keyword_overrides_use_section_key_names() -> None:
    s = load_settings(env={}, database_url="postgresql://x/y", data_dir="/srv/cmms", jwt_secret="k" * 32)
    assert s.database.url == "postgresql://x/y"
    assert s.data.dir == "/srv/cmms"
    assert s.jwt.secret == "k" * 32


def test_unknown_setting_in_a_file_is_an_error_naming_it(tmp_path: Path) -> None:
    config = tmp_path / "cmms.toml"
    config.write_text("[server]\nprot = 8080\n")
    with pytest.raises(ConfigError, match=r"\[server\] prot"):
        load_settings(config, env={})


def test_unreadable_config_file_is_an_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[server\nport = 1\n")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(broken, env={})
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(tmp_path / "missing.toml", env={})


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CMMS_SERVER_PORT", "eighty"),
        ("CMMS_SERVER_PORT", "80.5"),
        ("CMMS_SERVER_SHUTDOWN_TIMEOUT", "soon"),
        ("CMMS_DATABASE_POOL_MAX", ""),
        ("CMMS_JWT_ACCESS_TTL", "15m"),
    ],
)
def test_bad_type_in_environment_is_an_error_naming_the_setting(variable: str, value: str) -> None:
    section, key = variable.removeprefix("CMMS_").lower().split("_", 1)
    with pytest.raises(ConfigError, match=rf"\[{section}\] {key}: expected"):
        load_settings(env={variable: value})


@pytest.mark.parametrize("value", ['"eighty"', "[80]", "{ a = 1 }", "80.5", "true"])
def test_bad_type_in_a_file_is_an_error(tmp_path: Path, value: str) -> None:
    """An integer setting given a string, list, table, fraction or boolean is refused, not coerced."""
    config = tmp_path / "cmms.toml"
    config.write_text(f"[server]\nport = {value}\n")
    with pytest.raises(ConfigError, match=r"\[server\] port"):
        load_settings(config, env={})


def test_integer_file_value_for_a_float_setting_is_accepted(tmp_path: Path) -> None:
    config = tmp_path / "cmms.toml"
    config.write_text("[server]\nshutdown_timeout = 3\n")
    s = load_settings(config, env={})
    assert s.server.shutdown_timeout == 3.0
    assert isinstance(s.server.shutdown_timeout, float)


def test_unrelated_environment_variables_are_ignored() -> None:
    s = load_settings(env={"HOME": "/root", "CMMS_NOT_A_SECTION": "1", "PATH": "/bin"})
    assert s.server.port == 8080
