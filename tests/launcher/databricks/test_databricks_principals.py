"""Who a run goes as, and the idempotency token of a job group's launch."""

from __future__ import annotations

from databricks.sdk.service.jobs import JobRunAs

from launcher.environments.databricks.principals import idempotency_token, principal_for, run_name
from launcher.environments.databricks.settings import DatabricksSettings

S = DatabricksSettings(run_as_map={"alice": "alice@example.com", "etl": "6f1d-app-id"},
                       service_principal="0000-sp-app-id")


def test_a_mapped_user_runs_as_their_databricks_user():
    p = principal_for("alice", S)
    assert p.run_as() == JobRunAs(user_name="alice@example.com")
    assert p.label == "user alice@example.com (run_as_map)"


def test_a_mapping_without_at_sign_is_a_service_principal():
    assert principal_for("etl", S).run_as() == JobRunAs(service_principal_name="6f1d-app-id")


def test_an_unmapped_user_runs_as_the_service_principal():
    p = principal_for("bob", S)
    assert p.run_as() == JobRunAs(service_principal_name="0000-sp-app-id")
    assert p.label == "service principal 0000-sp-app-id (service_principal)"


def test_without_either_the_token_owner_runs_it():
    p = principal_for("bob", DatabricksSettings())
    assert p.run_as() is None
    assert p.label == "the access token's own principal (no run_as)"


def test_idempotency_token_is_stable_per_launch_and_short():
    a = idempotency_token(12, "jg-12-abcdef")
    assert a == idempotency_token(12, "jg-12-abcdef")
    assert a != idempotency_token(12, "jg-12-other") != idempotency_token(13, "jg-12-abcdef")
    assert len(idempotency_token(10**12, "x" * 500)) <= 64
    assert a.startswith("launcher-jg12-")


def test_run_name_carries_the_job_group_id():
    assert run_name(12, "jg-12-abc") == "launcher job group 12 [jg-12-abc]"
