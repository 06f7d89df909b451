"""YARN and Kubernetes cluster modes, followed by tag against recorded ResourceManager and
Kubernetes API answers served by a real local HTTP server (no YARN or Kubernetes runs here).

spark-submit itself cannot reach either here, so ``spark_submit`` points at a stand-in that
records the argv it was given and exits the way spark-submit does once the cluster accepted the
application (``waitAppCompletion=false``). Everything after that is the adapter's real code.
"""

from __future__ import annotations

import json
import stat
import sys
import time
from pathlib import Path

import pytest

from launcher.environments.base import RunState, State
from launcher.environments.spark_submit.environment import ARCHIVED, SparkSubmitEnvironment
from launcher.environments.spark_submit.settings import SparkSettings

from .conftest import make_run
from .replay import Replay, recorded

TAG = "jg-12-0123456789ab"  # the tag in the recorded answers
APP = "application_1767225600000_0042"
POD = f"{TAG}-3f1e2d8c9b7a6a50-driver"


@pytest.fixture
def replay():
    r = Replay()
    yield r
    r.close()


def stand_in(tmp_path: Path, exit_code: int = 0) -> str:
    """An executable that records its argv (JSON) next to itself and exits like spark-submit."""
    path = tmp_path / "spark-submit"
    path.write_text(f"#!{sys.executable}\nimport json, sys\n"
                    f"json.dump(sys.argv[1:], open({str(tmp_path / 'argv.json')!r}, 'w'))\n"
                    f"sys.exit({exit_code})\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def tagged_run(tmp_path: Path, user: str = "alice"):
    run = make_run(tmp_path, 12, user=user)
    return type(run)(**{**run.__dict__, "tag": TAG})


def wait_submitter(env, handle) -> None:
    env.ctx.procs[handle.tag].wait(30)


def write_result(run, status: str = "Complete") -> None:
    # What the driver writes on the cluster (to storage the launcher reads as well).
    Path(run.spec.resultUri).parent.mkdir(parents=True, exist_ok=True)
    Path(run.spec.resultUri).write_text(json.dumps({"jobGroupId": 12, "status": status, "jobs": []}))


# -- YARN -----------------------------------------------------------------------------------------

def yarn_settings(tmp_path, replay, exit_code=0) -> SparkSettings:
    return SparkSettings(master="yarn", deploy_mode="cluster", yarn_rm_url=replay.url, queue="etl",
                         impersonate=True, user_map={"alice": "alice_hdfs"},
                         spark_submit=stand_in(tmp_path, exit_code), poll_interval_seconds=0.1)


APPS = "/ws/v1/cluster/apps"


def test_yarn_cluster_run_is_followed_by_its_tag_to_the_end(tmp_path, replay):
    env = SparkSubmitEnvironment(yarn_settings(tmp_path, replay), tmp_path / "work")
    run = tagged_run(tmp_path)
    replay.on("GET", APPS, recorded("yarn/apps_none.json"), recorded("yarn/apps_accepted.json"),
              recorded("yarn/apps_running.json"), recorded("yarn/apps_finished_succeeded.json"))
    handle = env.submit(run)
    wait_submitter(env, handle)
    argv = json.loads((tmp_path / "argv.json").read_text())
    assert ["--proxy-user", "alice_hdfs"] == argv[argv.index("--proxy-user"):argv.index("--proxy-user") + 2]
    assert f"spark.yarn.tags={TAG}" in argv and "--queue" in argv and argv[-2:] == ["--spec", "12.json"]

    # The submitter exited 0 but YARN does not list the app yet: that is a failure to find it.
    assert env.poll(handle) == RunState(State.FAILED, "YARN has no application with this run's tag")
    assert env.poll(handle).state is State.PENDING  # ACCEPTED
    assert env.poll(handle).state is State.RUNNING
    write_result(run)
    assert env.poll(handle) == RunState(State.SUCCEEDED)
    assert env.result(handle)["status"] == "Complete"
    queries = [r.query for r in replay.calls("GET", APPS)]
    assert all(q == {"applicationTags": [TAG]} for q in queries)

    lines = env.logs(handle, 0, 1000)
    assert f"---- YARN application {APP} (FINISHED/SUCCEEDED) ----" in lines
    assert any("driver (application master) logs: http://nm1.example.com:8042/node/containerlogs/" in x for x in lines)
    assert lines[-1] == ARCHIVED


def test_yarn_cancel_kills_the_application_as_the_proxy_user(tmp_path, replay):
    env = SparkSubmitEnvironment(yarn_settings(tmp_path, replay), tmp_path / "work")
    run = tagged_run(tmp_path)
    replay.on("GET", APPS, recorded("yarn/apps_running.json"), recorded("yarn/apps_running.json"),
              recorded("yarn/apps_killed.json"))
    replay.on("PUT", f"{APPS}/{APP}/state", recorded("yarn/kill_accepted.json", status=202))
    handle = env.submit(run)
    wait_submitter(env, handle)
    assert env.poll(handle).state is State.RUNNING
    env.cancel(handle)
    (kill,) = replay.calls("PUT", f"{APPS}/{APP}/state")
    assert kill.json() == {"state": "KILLED"} and kill.query == {"user.name": ["alice_hdfs"]}
    assert env.poll(handle) == RunState(State.CANCELED, "canceled")


def test_yarn_run_found_again_after_a_restart(tmp_path, replay):
    settings = yarn_settings(tmp_path, replay)
    first = SparkSubmitEnvironment(settings, tmp_path / "work")
    run = tagged_run(tmp_path)
    replay.on("GET", APPS, recorded("yarn/apps_running.json"), recorded("yarn/apps_finished_failed.json"))
    handle = first.submit(run)
    wait_submitter(first, handle)
    restarted = SparkSubmitEnvironment(settings, tmp_path / "work")
    assert restarted.recover(handle).state is State.RUNNING
    state = restarted.poll(handle)
    assert state.state is State.FAILED and "User application exited with status 1" in state.message


def test_yarn_submitter_failure_is_the_runs_failure(tmp_path, replay):
    env = SparkSubmitEnvironment(yarn_settings(tmp_path, replay, exit_code=1), tmp_path / "work")
    replay.on("GET", APPS, recorded("yarn/apps_none.json"))
    handle = env.submit(tagged_run(tmp_path))
    wait_submitter(env, handle)
    assert env.poll(handle) == RunState(State.FAILED, "spark-submit exited with code 1; see the job's log")


def test_an_unreachable_resource_manager_is_an_error_not_a_state(tmp_path, replay):
    env = SparkSubmitEnvironment(yarn_settings(tmp_path, replay), tmp_path / "work")
    handle = env.submit(tagged_run(tmp_path))
    wait_submitter(env, handle)
    replay.close()
    import httpx

    with pytest.raises(httpx.HTTPError):  # the dispatcher counts failed looks; one is not a failed run
        env.poll(handle)


# -- Kubernetes -----------------------------------------------------------------------------------

PODS = "/api/v1/namespaces/spark-jobs/pods"


def k8s_settings(tmp_path, replay) -> SparkSettings:
    token = tmp_path / "token"
    token.write_text("s3cr3t-token\n")
    return SparkSettings(master=f"k8s://{replay.url}", deploy_mode="cluster", k8s_namespace="spark-jobs",
                         k8s_token_file=str(token), impersonate=True, spark_submit=stand_in(tmp_path),
                         conf={"spark.kubernetes.container.image": "acme/spark-jobs:4.2.0"})


def test_kubernetes_driver_pod_followed_by_label_and_its_log_kept(tmp_path, replay):
    env = SparkSubmitEnvironment(k8s_settings(tmp_path, replay), tmp_path / "work")
    run = tagged_run(tmp_path, user="bob")
    replay.on("GET", PODS, recorded("k8s/pods_pending.json"), recorded("k8s/pods_running.json"),
              recorded("k8s/pods_succeeded.json"))
    replay.on("GET", f"{PODS}/{POD}/log", recorded("k8s/pod_log.txt"))
    handle = env.submit(run)
    wait_submitter(env, handle)
    argv = json.loads((tmp_path / "argv.json").read_text())
    assert "--proxy-user" in argv and argv[argv.index("--proxy-user") + 1] == "bob"
    assert f"spark.kubernetes.driver.label.launcher-tag={TAG}" in argv

    assert env.poll(handle).state is State.PENDING
    assert env.poll(handle).state is State.RUNNING
    assert "Running Spark version 4.2.0" in "\n".join(env.logs(handle, 0, 1000))  # live, from the pod
    write_result(run)
    assert env.poll(handle) == RunState(State.SUCCEEDED)
    for r in replay.calls("GET", PODS):
        assert r.query == {"labelSelector": [f"spark-role=driver,launcher-tag={TAG}"]}
        assert r.headers["Authorization"] == "Bearer s3cr3t-token"
    lines = env.logs(handle, 0, 1000)
    assert f"---- driver pod {POD} ----" in lines and lines[-1] == ARCHIVED
    assert "job group 12: Complete" in lines[-2]


def test_kubernetes_cancel_deletes_the_driver_pod(tmp_path, replay):
    env = SparkSubmitEnvironment(k8s_settings(tmp_path, replay), tmp_path / "work")
    replay.on("GET", PODS, recorded("k8s/pods_running.json"), recorded("k8s/pods_running.json"),
              recorded("k8s/pods_none.json"))
    replay.on("DELETE", f"{PODS}/{POD}", recorded("k8s/delete_pod.json"))
    handle = env.submit(tagged_run(tmp_path))
    wait_submitter(env, handle)
    assert env.poll(handle).state is State.RUNNING
    env.cancel(handle)
    assert len(replay.calls("DELETE", f"{PODS}/{POD}")) == 1
    # The pod is gone: after our cancel that is the cancel having worked.
    assert env.poll(handle) == RunState(State.CANCELED, "canceled")


def test_kubernetes_recover_after_restart_and_a_stuck_image(tmp_path, replay):
    settings = k8s_settings(tmp_path, replay)
    handle = SparkSubmitEnvironment(settings, tmp_path / "work").submit(tagged_run(tmp_path))
    time.sleep(0.1)
    replay.on("GET", PODS, recorded("k8s/pods_image_pull.json"))
    state = SparkSubmitEnvironment(settings, tmp_path / "work").recover(handle)
    assert state.state is State.FAILED and "ImagePullBackOff" in state.message
