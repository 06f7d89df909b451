"""[environments.spark] as the launcher loads it: TOML, LAUNCHER_* variables, the registry."""

from __future__ import annotations

import pytest

from launcher.environments import configuration_problem
from launcher.environments.spark_submit.environment import SparkSubmitEnvironment
from launcher.environments.spark_submit.settings import SparkSettings
from launcher.settings import load_settings


def test_toml_section_and_environment_override(tmp_path, monkeypatch):
    config = tmp_path / "launcher.toml"
    config.write_text('[environments.spark]\nmaster = "spark://10.0.0.5:7077"\ndeploy_mode = "cluster"\n'
                      'conf = { "spark.eventLog.enabled" = true, "spark.sql.shuffle.partitions" = 8 }\n'
                      'impersonate = true\nuser_map = { ann = "ann_hdfs" }\n')
    monkeypatch.setenv("LAUNCHER_ENVIRONMENTS__SPARK__DRIVER_MEMORY", "3g")
    s = load_settings(config, home=tmp_path / "home")
    spark = s.environments.spark
    assert isinstance(spark, SparkSettings)
    assert (spark.master, spark.deploy_mode, spark.driver_memory) == ("spark://10.0.0.5:7077", "cluster", "3g")
    assert spark.conf == {"spark.eventLog.enabled": "true", "spark.sql.shuffle.partitions": "8"}
    assert (spark.proxy_user("ann"), spark.proxy_user("bob")) == ("ann_hdfs", "bob")
    assert spark.rest_submission_url == "http://10.0.0.5:6066"


def test_the_registry_builds_it_by_default(tmp_path):
    s = load_settings(home=tmp_path / "home")
    assert configuration_problem(s, "spark") is None
    from launcher.environments import build_environment

    env = build_environment(s, "spark")
    assert isinstance(env, SparkSubmitEnvironment)
    assert env.settings.master == "local[2]" and env.poll_interval == 1.0 and env.concurrency == 2
    assert env.ctx.work_dir == (tmp_path / "home" / "staging" / "spark").resolve()


def test_a_missing_spark_submit_is_a_configuration_problem(tmp_path):
    s = load_settings(home=tmp_path / "home", environments={"spark": {"spark_submit": "/nope/spark-submit"}})
    problem = configuration_problem(s, "spark")
    assert "spark_submit" in problem and "/nope/spark-submit" in problem


def test_a_bad_key_stops_the_launcher_naming_it(tmp_path):
    config = tmp_path / "launcher.toml"
    config.write_text('[environments.spark]\nmaster = "yarn"\ndeploy_mode = "cluster"\n')
    with pytest.raises(Exception) as e:
        load_settings(config, home=tmp_path / "home")
    assert "yarn_rm_url" in str(e.value)
