"""Settings: embedded defaults < TOML file < LAUNCHER_* environment variables."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from launcher.settings import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_defaults(launcher_home, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no conf/launcher.toml here: embedded defaults only
    s = load_settings()
    assert s.home == launcher_home.resolve()
    assert s.database_url == f"sqlite:///{launcher_home / 'launcher.db'}"
    assert (s.host, s.port) == ("127.0.0.1", 8700)
    assert s.storage_roots == [str(tmp_path / "examples"), str(launcher_home / "data")]
    assert (s.specs_dir, s.logs_dir, s.results_dir, s.staging_dir) == tuple(
        launcher_home / d for d in ("specs", "logs", "results", "staging"))
    assert s.environments.photon.concurrency >= 1
    assert s.environments.databricksSpark is None
    assert s.environment("databricksSpark") is None
    assert s.environment("photon") is s.environments.photon
    assert s.environment("nope") is None


def test_home_defaults_to_var_in_the_current_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("LAUNCHER_HOME")
    monkeypatch.chdir(tmp_path)
    assert load_settings().home == tmp_path / "var"


def test_the_shipped_toml_holds_the_embedded_defaults(monkeypatch, tmp_path):
    monkeypatch.delenv("LAUNCHER_HOME")
    monkeypatch.chdir(tmp_path)
    embedded = load_settings().model_dump()
    shipped = tomllib.loads((ROOT / "conf" / "launcher.toml").read_text())

    def check(values: dict, defaults: dict, where: str) -> None:
        for key, value in values.items():
            assert key in defaults, f"{where}{key} is not a setting"
            if isinstance(value, dict):
                check(value, defaults[key], f"{where}{key}.")
            elif key == "home":
                assert defaults[key] == (tmp_path / value)
            else:
                assert defaults[key] == value, f"{where}{key}"

    check(shipped, embedded, "")
    assert load_settings(ROOT / "conf" / "launcher.toml").model_dump() == embedded


def test_toml_then_environment(tmp_path, monkeypatch):
    conf = tmp_path / "l.toml"
    conf.write_text("""
port = 9001
host = "0.0.0.0"
storage_roots = ["/data/common", "s3a://bucket/x"]
[storage.users.ann]
roots = ["/data/ann"]
[environments.photon]
concurrency = 3
[environments.spark]
master = "spark://10.0.0.5:7077"
""")
    monkeypatch.setenv("LAUNCHER_CONFIG", str(conf))
    monkeypatch.setenv("LAUNCHER_PORT", "9002")
    monkeypatch.setenv("LAUNCHER_ENVIRONMENTS__PHOTON__MASTER", "local[1]")
    s = load_settings()
    assert (s.host, s.port) == ("0.0.0.0", 9002)  # env beats the file
    assert (s.environments.photon.concurrency, s.environments.photon.master) == (3, "local[1]")  # merged
    assert s.environments.spark.master == "spark://10.0.0.5:7077"
    assert s.roots_for("ann") == ["/data/common", "s3a://bucket/x", "/data/ann"]
    assert s.roots_for("bob") == ["/data/common", "s3a://bucket/x"]
    monkeypatch.setenv("LAUNCHER_STORAGE_ROOTS", '["/env/root", "rel/dir"]')
    assert load_settings().storage_roots == ["/env/root", str(Path("rel/dir").resolve())]


def test_explicit_arguments_win(tmp_path):
    s = load_settings(home=tmp_path / "h", port=1234, database_url="postgresql://u:pw@db/x")
    assert (s.home, s.port, s.database_url) == (tmp_path / "h", 1234, "postgresql://u:pw@db/x")
    assert s.database_url_redacted == "postgresql://u:***@db/x"
    assert "pw" not in repr(s) and "postgresql://u:***@db/x" in repr(s)


def test_databricks_section_is_validated_only_when_present(tmp_path, monkeypatch):
    monkeypatch.setenv("LAUNCHER_ENVIRONMENTS__DATABRICKSSPARK__HOST", "adb-1.azuredatabricks.net")
    s = load_settings()
    assert s.environment("databricksSpark").host == "https://adb-1.azuredatabricks.net"
    monkeypatch.setenv("LAUNCHER_ENVIRONMENTS__DATABRICKSSPARK__CONCURRENCY", "0")
    with pytest.raises(ValidationError, match="concurrency: Input should be greater than or equal to 1"):
        load_settings()


def test_configuration_mistakes_are_named(tmp_path, monkeypatch):
    monkeypatch.setenv("LAUNCHER_CONFIG", str(tmp_path / "none.toml"))
    with pytest.raises(ConfigError, match="none.toml .* does not exist"):
        load_settings()
    monkeypatch.delenv("LAUNCHER_CONFIG")
    bad = tmp_path / "bad.toml"
    bad.write_text("prot = 1\n[environments.photon]\nconcurency = 2\n")
    with pytest.raises(ValidationError) as err:
        load_settings(bad)
    fields = {".".join(map(str, e["loc"])) for e in err.value.errors()}
    assert fields == {"prot", "environments.photon.concurency"}
    monkeypatch.setenv("LAUNCHER_PORT", "eighty")
    with pytest.raises(ValidationError, match="port"):
        Settings()


def test_ensure_dirs(settings):
    for d in (settings.home, settings.specs_dir, settings.logs_dir, settings.results_dir, settings.staging_dir):
        assert d.is_dir()
