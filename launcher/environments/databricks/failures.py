"""What a failed workspace call means for the user: one message naming the setting to fix.

``describe(op, err, settings)`` is pure: it looks only at the exception's class (the SDK maps
HTTP statuses to classes) and the operation that failed, so each case is tested by equality.
"""

from __future__ import annotations

import requests
from databricks.sdk import errors as dbx

from launcher.environments.databricks.settings import SECTION, DatabricksSettings

# Operations of the adapter, as they appear in messages.
UPLOAD, SUBMIT, POLL, OUTPUT, DOWNLOAD, CANCEL = (
    "uploading to the workspace", "submitting the run", "reading the run's state",
    "reading the task's output", "reading the result document", "canceling the run")


class DatabricksEnvironmentError(RuntimeError):
    """A workspace call failed for good; the message says which setting to fix."""


def server_message(err: BaseException) -> str:
    text = str(err).strip()
    # The SDK appends its configuration ("Config: host=..., token=***, ..."): not the server's words.
    return text.split(" Config: ", 1)[0].strip().rstrip(".") or type(err).__name__


def is_transient(err: BaseException) -> bool:
    """Worth another try later: throttling, unavailability, the SDK's retry budget running out."""
    return isinstance(err, (dbx.TooManyRequests, dbx.TemporarilyUnavailable, TimeoutError,
                            requests.ConnectionError, requests.Timeout))


def describe(op: str, err: BaseException, settings: DatabricksSettings) -> str:
    said = server_message(err)
    if isinstance(err, dbx.Unauthenticated):
        return (f"Databricks refused the access token while {op} (401: {said}); fix the token in "
                f"the environment variable named by {SECTION} token_env or the file named by token_file, "
                f"and check that {SECTION} host ({settings.host}) is the workspace it belongs to")
    if isinstance(err, dbx.PermissionDenied):
        if op in (UPLOAD, DOWNLOAD):
            fix = (f"grant the token's principal READ VOLUME and WRITE VOLUME on {SECTION} upload_dir "
                   f"({settings.upload_dir}) or choose another upload_dir")
        elif op == SUBMIT:
            fix = (f"check {SECTION} run_as_map and service_principal (the token's principal must be "
                   f"allowed to run as them) and the permission to use the compute "
                   f"(existing_cluster_id / new_cluster / serverless)")
        else:
            fix = f"the token ({SECTION} token_env / token_file) must belong to a principal that can see the run"
        return f"Databricks denied permission while {op} (403: {said}); {fix}"
    if isinstance(err, dbx.NotFound):
        if op in (UPLOAD, DOWNLOAD):
            fix = (f"check {SECTION} upload_dir ({settings.upload_dir}): the catalog, schema and volume "
                   "must exist")
        else:
            fix = f"check {SECTION} host ({settings.host}): it must be the workspace URL"
        return f"Databricks answered 404 Not Found while {op} ({said}); {fix}"
    if isinstance(err, dbx.BadRequest):
        fix = ""
        low = said.lower()
        if "cluster" in low:
            fix = f"; check {SECTION} existing_cluster_id / new_cluster"
        elif "run_as" in low or "principal" in low or "user" in low:
            fix = f"; check {SECTION} run_as_map / service_principal"
        elif "environment" in low:
            fix = f"; check {SECTION} serverless_environment_version"
        return f"Databricks refused the request while {op} (400: {said}){fix}"
    if isinstance(err, (dbx.TooManyRequests, dbx.TemporarilyUnavailable, TimeoutError)):
        cause = err.__cause__ if isinstance(err, TimeoutError) and err.__cause__ is not None else err
        return (f"the workspace stayed throttled or unavailable while {op} "
                f"({server_message(cause)}) for the whole retry budget of "
                f"{settings.retry_budget_seconds:g} s ({SECTION} retry_budget_seconds); try again later")
    if isinstance(err, (requests.ConnectionError, requests.Timeout)):
        return f"cannot reach the workspace while {op} ({type(err).__name__}); check {SECTION} host ({settings.host})"
    if isinstance(err, dbx.DatabricksError):
        return f"Databricks error while {op}: {said}"
    return f"{type(err).__name__} while {op}: {err}"
