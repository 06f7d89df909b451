"""The spark-submit argv and the standalone REST request: golden lists, exact equality."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from launcher.environments.spark_submit.command import build_argv, build_rest_request, label_value
from launcher.environments.spark_submit.settings import SparkSettings

SUBMIT = "/opt/spark/bin/spark-submit"
MAIN = "/app/spark_jobs/main.py"
ZIP = "/var/launcher/staging/spark/pyfiles/0123/spark_jobs-0.1.0.zip"
SPEC = "/var/launcher/specs/12.json"
TAG = "jg-12-0123456789ab"
PY = "/opt/venv/bin/python"


def settings(**kw) -> SparkSettings:
    return SparkSettings(spark_submit=SUBMIT, python=kw.pop("python", PY), **kw)


def test_local_client():
    s = settings(master="local[*]")
    assert build_argv(SPEC, [ZIP], s, TAG, None, driver_script=MAIN) == [
        SUBMIT, "--master", "local[*]", "--deploy-mode", "client", "--name", TAG,
        "--conf", f"spark.pyspark.python={PY}",
        "--py-files", ZIP,
        MAIN, "--spec", SPEC,
    ]


def test_standalone_client_with_resources_and_conf():
    s = settings(master="spark://10.0.0.5:7077", driver_memory="1g", executor_memory="2g",
                 executor_cores=2, total_executor_cores=8,
                 conf={"spark.sql.shuffle.partitions": 16, "spark.eventLog.enabled": True})
    assert build_argv(SPEC, [ZIP], s, TAG, None, driver_script=MAIN) == [
        SUBMIT, "--master", "spark://10.0.0.5:7077", "--deploy-mode", "client", "--name", TAG,
        "--driver-memory", "1g", "--executor-memory", "2g", "--executor-cores", "2",
        "--total-executor-cores", "8",
        "--conf", "spark.eventLog.enabled=true",
        "--conf", f"spark.pyspark.python={PY}",
        "--conf", "spark.sql.shuffle.partitions=16",
        "--py-files", ZIP,
        MAIN, "--spec", SPEC,
    ]


def test_yarn_client_tags_queue_and_proxy_user():
    s = settings(master="yarn", queue="etl", impersonate=True, python=None)
    assert build_argv(SPEC, [ZIP], s, TAG, s.proxy_user("alice"), driver_script=MAIN) == [
        SUBMIT, "--master", "yarn", "--deploy-mode", "client", "--name", TAG,
        "--queue", "etl", "--proxy-user", "alice",
        "--conf", f"spark.yarn.tags={TAG}",
        "--py-files", ZIP,
        MAIN, "--spec", SPEC,  # the driver runs here: it reads the local spec
    ]


def test_yarn_cluster_ships_the_spec_and_returns_after_submitting():
    s = settings(master="yarn", deploy_mode="cluster", yarn_rm_url="http://rm:8088", queue="etl",
                 impersonate=True, user_map={"alice": "alice_hdfs"}, python=None,
                 driver_memory="2g", num_executors=4, conf={"spark.yarn.tags": "nightly"})
    assert build_argv(SPEC, [ZIP], s, "JG-12-ABC", s.proxy_user("alice"), driver_script=MAIN) == [
        SUBMIT, "--master", "yarn", "--deploy-mode", "cluster", "--name", "JG-12-ABC",
        "--queue", "etl", "--proxy-user", "alice_hdfs",
        "--driver-memory", "2g", "--num-executors", "4",
        "--conf", "spark.yarn.submit.waitAppCompletion=false",
        # YARN lower-cases tags: the launcher's tag is sent the way YARN will report it.
        "--conf", "spark.yarn.tags=nightly,jg-12-abc",
        "--py-files", ZIP,
        "--files", SPEC,
        MAIN, "--spec", "12.json",
    ]


def test_k8s_cluster_labels_and_proxy_user():
    s = settings(master="k8s://https://10.0.0.1:6443", deploy_mode="cluster", impersonate=True,
                 python=None, conf={"spark.kubernetes.container.image": "acme/spark-jobs:4.2.0"})
    assert build_argv("s3a://bucket/specs/12.json", [ZIP], s, TAG, s.proxy_user("bob"), driver_script=MAIN) == [
        SUBMIT, "--master", "k8s://https://10.0.0.1:6443", "--deploy-mode", "cluster", "--name", TAG,
        "--proxy-user", "bob",
        "--conf", "spark.kubernetes.container.image=acme/spark-jobs:4.2.0",
        "--conf", f"spark.kubernetes.driver.label.launcher-tag={TAG}",
        "--conf", f"spark.kubernetes.executor.label.launcher-tag={TAG}",
        "--conf", "spark.kubernetes.submission.waitAppCompletion=false",
        "--py-files", ZIP,
        MAIN, "--spec", "s3a://bucket/specs/12.json",  # already a URI the driver reads: not shipped
    ]


def test_no_impersonation_no_proxy_user():
    s = settings(master="yarn", impersonate=False, python=None)
    assert s.proxy_user("alice") is None
    assert "--proxy-user" not in build_argv(SPEC, [ZIP], s, TAG, s.proxy_user("alice"), driver_script=MAIN)


def test_argv_is_a_list_of_plain_strings_even_for_hostile_values():
    s = settings(master="local[2]", conf={"spark.x": "a b; rm -rf / $(id)"})
    argv = build_argv("/specs/it's here.json", [ZIP], s, TAG, None, driver_script=MAIN)
    assert "--conf" in argv and "spark.x=a b; rm -rf / $(id)" in argv
    assert argv[-1] == "/specs/it's here.json"


def test_standalone_cluster_rest_request():
    s = settings(master="spark://127.0.0.1:7077", deploy_mode="cluster", driver_memory="512m",
                 executor_memory="512m", impersonate=True, env={"TZ": "UTC"}, conf={"spark.cores.max": "2"})
    assert build_rest_request(SPEC, [ZIP], s, TAG, s.proxy_user("alice"), spark_version="4.2.0",
                              driver_script=MAIN) == {
        "action": "CreateSubmissionRequest",
        "appResource": MAIN,
        "mainClass": "org.apache.spark.deploy.PythonRunner",
        "appArgs": [MAIN, ZIP, "--spec", SPEC],
        "clientSparkVersion": "4.2.0",
        "environmentVariables": {"PYSPARK_PYTHON": PY, "SPARK_USER": "alice", "TZ": "UTC"},
        "sparkProperties": {
            "spark.app.name": TAG,
            "spark.cores.max": "2",
            "spark.driver.memory": "512m",
            "spark.driver.supervise": "false",
            "spark.executor.memory": "512m",
            "spark.master": "spark://127.0.0.1:7077",
            "spark.pyspark.python": PY,
            "spark.submit.deployMode": "cluster",
            "spark.submit.pyFiles": ZIP,
        },
    }


def test_label_value_fits_yarn_and_kubernetes():
    assert label_value("JG-12-ABC") == "jg-12-abc"
    assert label_value("a/b c") == "a-b-c"
    assert len(label_value("x" * 100)) == 63
    assert label_value("--x--") == "x"


def test_settings_defaults_and_derived_urls():
    s = SparkSettings()
    assert s.master == "local[2]" and s.deploy_mode == "client" and s.mode == "client"
    assert s.spark_submit.endswith("/pyspark/bin/spark-submit")
    c = SparkSettings(master="spark://m1:7077,m2:7077", deploy_mode="cluster")
    assert (c.mode, c.rest_submission_url, c.master_ui) == ("standalone-cluster", "http://m1:6066", "http://m1:8080")
    k = SparkSettings(master="k8s://10.0.0.1:6443", deploy_mode="cluster")
    assert (k.mode, k.kubernetes_api_url) == ("k8s-cluster", "https://10.0.0.1:6443")


@pytest.mark.parametrize("kw, field, words", [
    ({"master": "mesos://x:5050"}, "master", "spark://HOST:PORT"),
    ({"deploy_mode": "cluster"}, "deploy_mode", "cluster needs"),
    ({"deploy_mode": "remote"}, "deploy_mode", "'client' or 'cluster'"),
    ({"queue": "etl"}, "queue", "yarn masters only"),
    ({"master": "yarn", "deploy_mode": "cluster"}, "yarn_rm_url", "ResourceManager"),
    ({"driver_memory": "lots"}, "driver_memory", "512m"),
    ({"unknown_knob": 1}, "unknown_knob", "Extra inputs"),
])
def test_bad_settings_name_the_field(kw, field, words):
    with pytest.raises(ValidationError) as e:
        SparkSettings(**kw)
    text = str(e.value)
    assert field in text and words in text
