"""Workspace faults through the real SDK against the emulator: throttling and unavailability
retried within a bounded budget, idempotent resubmission, and 401/403/404 ending as a clear
failure that names the setting to fix. Runs are held PENDING here: no Spark is started."""

from __future__ import annotations

import time

import pytest
from databricks_helpers import csv_spec, emulated_run, make_run

from launcher.environments.base import State
from launcher.environments.databricks import DatabricksEnvironmentError

SUBMIT = "/api/2.2/jobs/runs/submit"
GET_RUN = "/api/2.2/jobs/runs/get"
FILES = "/api/2.0/fs/files/"


def _calls(em, since: int, path: str) -> list[dict]:
    return [r for r in em.requests()[since:] if r["path"] == path]


@pytest.mark.parametrize("status", [503, 429])
def test_two_faults_then_success_and_a_repeated_submit_starts_no_second_run(em, make_env, tmp_path, status):
    em.hold_runs()
    env = make_env()
    run = make_run(tmp_path, csv_spec(tmp_path / "data", 101, []))
    since = len(em.requests())
    em.inject(SUBMIT, status, count=2, method="POST", retry_after=0,
              error_code="TEMPORARILY_UNAVAILABLE" if status == 503 else "REQUEST_LIMIT_EXCEEDED")

    handle = env.submit(run)
    submits = _calls(em, since, SUBMIT)
    assert [r["status"] for r in submits] == [status, status, 200]
    tokens = {r["body"]["idempotency_token"] for r in submits}
    assert tokens == {handle.data["idempotencyToken"]}

    again = make_env().submit(run)  # e.g. the launcher retrying after losing the answer
    assert again.external_id == handle.external_id
    assert [r["run_id"] for r in em.runs() if r["idempotency_token"] in tokens] == [int(handle.external_id)]

    env.cancel(handle)
    deadline = time.monotonic() + 30
    while not (state := env.poll(handle)).has_terminated() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert state.state == State.CANCELED


def test_503s_beyond_the_retry_budget_fail_the_submit_naming_the_budget(em, make_env, make_settings, tmp_path):
    env = make_env(make_settings(retry_budget_seconds=2))
    run = make_run(tmp_path, csv_spec(tmp_path / "data", 102, []))
    em.inject(SUBMIT, 503, count=1000, method="POST", retry_after=0)
    started = time.monotonic()
    with pytest.raises(DatabricksEnvironmentError) as err:
        env.submit(run)
    assert time.monotonic() - started < 10
    assert "retry budget of 2 s ([environments.databricksSpark] retry_budget_seconds)" in str(err.value)
    assert str(err.value) in "\n".join(open(run.log_path).read().splitlines())


def test_a_wrong_token_fails_with_the_token_setting_named(em, make_env, monkeypatch, tmp_path):
    monkeypatch.setenv("DBX_EMULATOR_TOKEN", "dapi-wrong")
    env = make_env()
    run = make_run(tmp_path, csv_spec(tmp_path / "data", 103, []))
    with pytest.raises(DatabricksEnvironmentError) as err:
        env.submit(run)
    message = str(err.value)
    # The first call is a HEAD (is the wheel there yet?): no body, so the reason phrase is the message.
    assert message.startswith("Databricks refused the access token while uploading to the workspace "
                              "(401: Unauthorized); fix the token in the environment variable named by "
                              "[environments.databricksSpark] token_env")
    assert "token_env" in message and "dapi-wrong" not in message
    assert all(r["run_name"] != f"launcher job group 103 [{run.tag}]" for r in em.runs())

    em.hold_runs()
    monkeypatch.setenv("DBX_EMULATOR_TOKEN", em.token)  # fixed where it lives: no restart needed
    handle = env.submit(run)
    assert emulated_run(em, int(handle.external_id))["run_name"] == f"launcher job group 103 [{run.tag}]"


def test_a_token_revoked_while_a_run_is_followed_ends_it_failed(em, make_env, make_settings, monkeypatch, tmp_path):
    em.hold_runs()
    env = make_env()
    run = make_run(tmp_path, csv_spec(tmp_path / "data", 104, []))
    handle = env.submit(run)
    monkeypatch.setenv("DBX_EMULATOR_TOKEN", "dapi-revoked")
    state = make_env().poll(handle)  # a new client reads the (now wrong) token
    assert state.state == State.FAILED
    assert state.message.startswith("Databricks refused the access token while reading the run's state (401")
    monkeypatch.setenv("DBX_EMULATOR_TOKEN", em.token)
    env.cancel(handle)


def test_a_missing_volume_names_upload_dir(em, make_env, make_settings, tmp_path):
    env = make_env(make_settings(upload_dir="/Volumes/main/nope/launcher"))
    run = make_run(tmp_path, csv_spec(tmp_path / "data", 105, []))
    em.inject(FILES, 404, count=1, method="PUT", error_code="NOT_FOUND",
              message="Schema 'main.nope' does not exist")
    with pytest.raises(DatabricksEnvironmentError) as err:
        env.submit(run)
    assert str(err.value) == (
        "Databricks answered 404 Not Found while uploading to the workspace (Schema 'main.nope' does "
        "not exist); check [environments.databricksSpark] upload_dir (/Volumes/main/nope/launcher): "
        "the catalog, schema and volume must exist")


def test_a_403_on_submit_names_run_as(em, make_env, make_settings, tmp_path):
    env = make_env(make_settings(service_principal="sp-not-allowed"))
    run = make_run(tmp_path, csv_spec(tmp_path / "data", 106, []), user="bob")
    em.inject(SUBMIT, 403, method="POST", error_code="PERMISSION_DENIED",
              message="User does not have permission to run as sp-not-allowed")
    with pytest.raises(DatabricksEnvironmentError) as err:
        env.submit(run)
    assert "(403: User does not have permission to run as sp-not-allowed)" in str(err.value)
    assert "check [environments.databricksSpark] run_as_map and service_principal" in str(err.value)


def test_an_unavailable_workspace_is_waited_out_only_within_the_budget(em, make_env, make_settings, tmp_path):
    em.hold_runs()
    now = [1000.0]
    env = make_env(make_settings(retry_budget_seconds=1), clock=lambda: now[0])
    run = make_run(tmp_path, csv_spec(tmp_path / "data", 107, []))
    handle = env.submit(run)
    assert env.poll(handle).state == State.PENDING
    em.inject(GET_RUN, 503, count=1000, method="GET", retry_after=0)

    state = env.poll(handle)  # the SDK retried for ~1 s; one bad stretch is not a failure
    assert state.state == State.PENDING and state.message.startswith("workspace unavailable for 0 s")
    now[0] += 5
    state = env.poll(handle)
    assert state.state == State.FAILED
    assert "retry budget of 1 s ([environments.databricksSpark] retry_budget_seconds)" in state.message
    em.clear_faults()
    env.cancel(handle)


@pytest.mark.parametrize("compute", ["existing_cluster_id", "new_cluster", "serverless"])
def test_the_submitted_task(em, make_env, make_settings, tmp_path, compute):
    em.hold_runs()
    settings = make_settings(**{
        "existing_cluster_id": None,
        compute: {"existing_cluster_id": "0101-abc", "new_cluster": {"spark_version": "15.4.x-scala2.12",
                                                                     "node_type_id": "i3.xlarge", "num_workers": 1},
                  "serverless": True}[compute]})
    env = make_env(settings)
    run = make_run(tmp_path, csv_spec(tmp_path / "data", 108, []))
    handle = env.submit(run)
    body = emulated_run(em, int(handle.external_id))["body"]
    env.cancel(handle)

    wheel = handle.data["wheelUri"]
    assert wheel.startswith("/Volumes/main/default/launcher/wheels/") and wheel.endswith(".whl")
    spec_uri = f"/Volumes/main/default/launcher/runs/{run.tag}/spec.json"
    assert body["run_name"] == f"launcher job group 108 [{run.tag}]"
    assert body["timeout_seconds"] == 600
    assert body["run_as"] == {"user_name": "alice@example.com"} if settings.run_as_map else "run_as" not in body
    [task] = body["tasks"]
    assert task["python_wheel_task"] == {"package_name": "spark_jobs", "entry_point": "spark-jobs",
                                         "parameters": ["--spec", spec_uri]}
    if compute == "serverless":
        assert task["environment_key"] == "spark_jobs" and "libraries" not in task
        assert body["environments"] == [{"environment_key": "spark_jobs",
                                         "spec": {"environment_version": "2", "dependencies": [wheel]}}]
    else:
        assert task["libraries"] == [{"whl": wheel}]
        assert task[compute] == settings.model_dump()[compute]
    # The uploaded spec is the launcher's with its resultUri moved into the upload directory.
    uploaded = em.volume_path(spec_uri).read_text()
    from spark_jobs.spec import parse_spec
    assert parse_spec(uploaded) == run.spec.model_copy(
        update={"resultUri": f"/Volumes/main/default/launcher/runs/{run.tag}/result.json"})


def test_a_state_the_sdk_does_not_know_fails_with_its_raw_value(em, make_env, tmp_path):
    em.hold_runs()
    env = make_env()
    handle = env.submit(make_run(tmp_path, csv_spec(tmp_path / "data", 109, [])))
    em.force_state(int(handle.external_id), "HIBERNATING", "MAYBE")
    state = env.poll(handle)
    assert state.state == State.FAILED
    assert state.message == "unknown Databricks run state: life_cycle_state='HIBERNATING' result_state='MAYBE'"
    assert "Databricks run " + handle.external_id + ": HIBERNATING/MAYBE" in "\n".join(env.logs(handle, 0, 100))
