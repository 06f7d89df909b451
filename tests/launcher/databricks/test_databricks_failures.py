"""Workspace errors become one message that names the setting to fix (pure; real SDK errors)."""

from __future__ import annotations

import requests
from databricks.sdk import errors as dbx

from launcher.environments.databricks import failures
from launcher.environments.databricks.failures import describe, is_transient
from launcher.environments.databricks.settings import DatabricksSettings

S = DatabricksSettings(host="https://ws.example", token_env="DBX_T", existing_cluster_id="c1",
                       retry_budget_seconds=30)


def test_401_names_the_token_settings():
    msg = describe(failures.SUBMIT, dbx.Unauthenticated("Invalid access token. Config: host=x, token=***"), S)
    assert msg == (
        "Databricks refused the access token while submitting the run (401: Invalid access token); "
        "fix the token in the environment variable named by [environments.databricksSpark] token_env "
        "or the file named by token_file, and check that [environments.databricksSpark] host "
        "(https://ws.example) is the workspace it belongs to")


def test_403_names_the_setting_of_the_operation():
    up = describe(failures.UPLOAD, dbx.PermissionDenied("no WRITE VOLUME"), S)
    assert "upload_dir (/Volumes/main/default/launcher)" in up and "403: no WRITE VOLUME" in up
    sub = describe(failures.SUBMIT, dbx.PermissionDenied("cannot run as x"), S)
    assert "run_as_map and service_principal" in sub


def test_404_names_upload_dir_or_host():
    assert "check [environments.databricksSpark] upload_dir (/Volumes/main/default/launcher)" in describe(
        failures.UPLOAD, dbx.NotFound("Catalog 'main' does not exist"), S)
    assert "check [environments.databricksSpark] host (https://ws.example)" in describe(
        failures.POLL, dbx.NotFound("no such endpoint"), S)


def test_400_about_a_cluster_names_the_compute_settings():
    assert describe(failures.SUBMIT, dbx.InvalidParameterValue("Cluster 0101 does not exist"), S).endswith(
        "check [environments.databricksSpark] existing_cluster_id / new_cluster")


def test_an_exhausted_retry_budget_says_so():
    try:
        try:
            raise dbx.TemporarilyUnavailable("The service is temporarily unavailable")
        except dbx.TemporarilyUnavailable as e:
            raise TimeoutError("Timed out after 0:00:30") from e
    except TimeoutError as err:
        msg = describe(failures.SUBMIT, err, S)
    assert msg == (
        "the workspace stayed throttled or unavailable while submitting the run (The service is "
        "temporarily unavailable) for the whole retry budget of 30 s ([environments.databricksSpark] "
        "retry_budget_seconds); try again later")


def test_transient_errors():
    assert is_transient(dbx.TooManyRequests("slow down"))
    assert is_transient(dbx.TemporarilyUnavailable("later"))
    assert is_transient(TimeoutError("budget"))
    assert is_transient(requests.ConnectionError("refused"))
    assert not is_transient(dbx.Unauthenticated("no"))
    assert not is_transient(dbx.NotFound("no"))
