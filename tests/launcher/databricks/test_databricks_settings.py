"""[environments.databricksSpark]: validation, the token's sources, and configuration_problem."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from launcher.environments.databricks.settings import DatabricksSettings, configuration_problem

SECRET = "dapi-secret-abc123"


def ok(**kw) -> DatabricksSettings:
    values = dict(host="https://adb-1.azuredatabricks.net", token_env="DBX_T", existing_cluster_id="c1")
    values.update(kw)
    return DatabricksSettings(**values)


def test_defaults_upload_to_a_unity_catalog_volume():
    s = DatabricksSettings()
    assert s.upload_dir == "/Volumes/main/default/launcher"
    assert s.uses_volume
    assert s.token_env == "DATABRICKS_TOKEN"


def test_host_without_scheme_gets_https_and_loses_the_trailing_slash():
    assert ok(host="adb-1.azuredatabricks.net/").host == "https://adb-1.azuredatabricks.net"


def test_token_from_env_is_a_secret_never_shown(monkeypatch):
    monkeypatch.setenv("DBX_T", SECRET)
    s = ok()
    assert s.token().get_secret_value() == SECRET
    assert SECRET not in repr(s.token()) and SECRET not in str(s.token())
    assert SECRET not in repr(s) and SECRET not in s.model_dump_json()


def test_token_file_wins_over_the_env(monkeypatch, tmp_path):
    monkeypatch.setenv("DBX_T", "from-env")
    f = tmp_path / "token"
    f.write_text(SECRET + "\n")
    assert ok(token_file=f).token().get_secret_value() == SECRET


def test_an_inline_token_is_refused():
    with pytest.raises(ValidationError, match="token_env.*token_file"):
        DatabricksSettings(host="h", token=SECRET)


@pytest.mark.parametrize("upload_dir, accepted", [
    ("/Volumes/main/default/launcher", True),
    ("/Volumes/cat/sch/vol", True),
    ("/Workspace/Shared/launcher", True),
    ("/Volumes/main/default", False),
    ("dbfs:/tmp/launcher", False),
    ("/dbfs/tmp", False),
    ("/tmp/launcher", False),
])
def test_upload_dir(upload_dir, accepted):
    if accepted:
        assert ok(upload_dir=upload_dir + "/").upload_dir == upload_dir
    else:
        with pytest.raises(ValidationError, match="upload_dir"):
            ok(upload_dir=upload_dir)


def test_configuration_problems_name_the_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("DBX_T", SECRET)
    assert configuration_problem(None) == (
        "databricksSpark needs [environments.databricksSpark] host (the workspace URL)")
    assert configuration_problem(ok(host=None)) == configuration_problem(None)
    assert configuration_problem(ok()) is None
    assert configuration_problem(ok(existing_cluster_id=None)) == (
        "databricksSpark needs compute: set [environments.databricksSpark] existing_cluster_id, "
        "new_cluster or serverless = true")
    assert configuration_problem(ok(serverless=True)) == (
        "databricksSpark: set only one of [environments.databricksSpark] existing_cluster_id, serverless")
    assert configuration_problem(ok(existing_cluster_id=None, new_cluster={"num_workers": 1})) is None
    monkeypatch.delenv("DBX_T")
    assert configuration_problem(ok()) == (
        "databricksSpark needs an access token: the environment variable DBX_T named by "
        "[environments.databricksSpark] token_env is not set")
    missing = tmp_path / "nope"
    assert configuration_problem(ok(token_file=missing)) == (
        f"databricksSpark needs an access token: [environments.databricksSpark] token_file "
        f"'{missing}' is missing, unreadable or empty")


def test_the_launcher_settings_compose_this_section(monkeypatch, tmp_path):
    from launcher.environments import configuration_problem as registry_problem
    from launcher.settings import load_settings

    monkeypatch.setenv("DBX_T", SECRET)
    conf = tmp_path / "launcher.toml"
    conf.write_text(
        "[environments.databricksSpark]\n"
        'host = "https://adb-1.azuredatabricks.net"\n'
        'token_env = "DBX_T"\n'
        "serverless = true\n"
        'run_as_map = { alice = "alice@example.com" }\n')
    settings = load_settings(config=conf, home=tmp_path / "home")
    section = settings.environments.databricksSpark
    assert isinstance(section, DatabricksSettings)
    assert section.run_as_map == {"alice": "alice@example.com"}
    assert registry_problem(settings, "databricksSpark") is None
    assert configuration_problem(settings) is None

    unconfigured = load_settings(home=tmp_path / "home2")
    assert "host" in registry_problem(unconfigured, "databricksSpark")
