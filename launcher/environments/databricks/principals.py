"""Who a run goes as: the launcher user's mapped Databricks principal, else the service principal.

A mapped value with an ``@`` is a workspace user (an e-mail); anything else is a service
principal's application id. With neither a mapping nor a service principal the run goes as the
token's own principal (no ``run_as`` is sent). The label is what the job group shows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from databricks.sdk.service.jobs import JobRunAs

from launcher.environments.databricks.settings import DatabricksSettings


@dataclass(frozen=True)
class Principal:
    kind: str  # "user" | "servicePrincipal" | "tokenOwner"
    name: str | None
    source: str  # the setting it came from: "run_as_map" | "service_principal" | "token"

    @property
    def label(self) -> str:
        if self.kind == "user":
            return f"user {self.name} (run_as_map)"
        if self.kind == "servicePrincipal":
            return f"service principal {self.name} ({self.source})"
        return "the access token's own principal (no run_as)"

    def run_as(self) -> JobRunAs | None:
        if self.kind == "user":
            return JobRunAs(user_name=self.name)
        if self.kind == "servicePrincipal":
            return JobRunAs(service_principal_name=self.name)
        return None

    def as_dict(self) -> dict:
        return {"kind": self.kind, "name": self.name, "source": self.source, "label": self.label}


def principal_for(user: str, settings: DatabricksSettings) -> Principal:
    mapped = settings.run_as_map.get(user)
    if mapped:
        return Principal("user" if "@" in mapped else "servicePrincipal", mapped, "run_as_map")
    if settings.service_principal:
        return Principal("servicePrincipal", settings.service_principal, "service_principal")
    return Principal("tokenOwner", None, "token")


def idempotency_token(job_group_id: int, tag: str) -> str:
    """Stable for one job group's launch (its id and its tag, saved before submit); <= 64 chars.

    A repeated submit of the same group (a retry, a resubmission after a launcher restart) gets
    the same token, so the workspace returns the first run instead of starting a second.
    """
    return f"launcher-jg{job_group_id}-{hashlib.sha256(tag.encode()).hexdigest()[:24]}"


def run_name(job_group_id: int, tag: str) -> str:
    return f"launcher job group {job_group_id} [{tag}]"
