"""A standalone master's REST submission server (``spark.master.rest.enabled=true``, port 6066
by default) and the web UIs that hold a cluster-mode driver's log.

The protocol is the one ``RestSubmissionClient`` speaks: POST ``/v1/submissions/create`` with a
CreateSubmissionRequest, GET ``/v1/submissions/status/<id>``, POST ``/v1/submissions/kill/<id>``.
Answers are JSON with ``success``; a refused request is an error naming the server's message.
"""

from __future__ import annotations

import re

import httpx


class RestSubmissionError(RuntimeError):
    pass


class RestSubmissionServer:
    def __init__(self, url: str, timeout: float = 10.0):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _json(self, response: httpx.Response, what: str) -> dict:
        try:
            body = response.json()
        except ValueError:
            raise RestSubmissionError(
                f"{what}: {self.url} answered HTTP {response.status_code} without JSON: {response.text[:300]}"
            ) from None
        if response.status_code >= 400 and not isinstance(body, dict):
            raise RestSubmissionError(f"{what}: HTTP {response.status_code}: {body}")
        return body

    def create(self, request: dict) -> str:
        """Submit; returns the submission (driver) id."""
        try:
            r = httpx.post(f"{self.url}/v1/submissions/create", json=request, timeout=self.timeout)
        except httpx.HTTPError as e:
            raise RestSubmissionError(
                f"the standalone master's REST server at {self.url} cannot be reached ({e}); "
                "it needs spark.master.rest.enabled=true on the master") from None
        body = self._json(r, "submission")
        if not body.get("success") or not body.get("submissionId"):
            message = str(body.get("message") or body).split("\n")[0]  # not the server's stack trace
            raise RestSubmissionError(f"the master refused the submission: {message}")
        return body["submissionId"]

    def status(self, submission_id: str) -> dict:
        r = httpx.get(f"{self.url}/v1/submissions/status/{submission_id}", timeout=self.timeout)
        return self._json(r, "status")

    def kill(self, submission_id: str, timeout: float | None = None) -> dict:
        r = httpx.post(f"{self.url}/v1/submissions/kill/{submission_id}", timeout=timeout or self.timeout)
        return self._json(r, "kill")


_LOG_HEADER = re.compile(r"^==== Bytes \d+-\d+ of \d+ of .* ====\n?")


class MasterUi:
    """The master's web UI (``/json/``) and, through it, a worker's ``/log`` page."""

    def __init__(self, url: str, timeout: float = 10.0):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def state(self) -> dict:
        r = httpx.get(f"{self.url}/json/", timeout=self.timeout)
        r.raise_for_status()
        return r.json()

    def worker_ui(self, worker_id: str) -> str | None:
        for w in self.state().get("workers", []):
            if w.get("id") == worker_id:
                return w.get("webuiaddress")
        return None

    def driver_log(self, worker_ui: str, driver_id: str, log_type: str, max_bytes: int = 1 << 20) -> str:
        """A driver's stdout or stderr as the worker serves it (the last ``max_bytes``)."""
        r = httpx.get(f"{worker_ui.rstrip('/')}/log/", timeout=self.timeout,
                      params={"driverId": driver_id, "logType": log_type, "byteLength": max_bytes})
        r.raise_for_status()
        return _LOG_HEADER.sub("", r.text, count=1)
