"""The job group shows who its work runs as (issue: 'the job group shows which')."""

from launcher.api.present import run_as
from launcher.store.models import JobGroup


def test_run_as_prefers_what_the_environment_recorded():
    assert run_as(JobGroup(run_as="alice", handle=None)) == "alice"
    assert run_as(JobGroup(run_as="alice", handle={"data": {"runAs": "alice@corp.example"}})) == "alice@corp.example"
    assert run_as(JobGroup(run_as="alice", handle={"data": {"proxyUser": "svc_alice"}})) == "svc_alice"
    assert run_as(JobGroup(run_as="alice", handle={"environment": "photon", "data": {}})) == "alice"
