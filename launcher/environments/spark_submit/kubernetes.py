"""The Kubernetes API for a cluster-mode run: its driver pod, found by the run's label, its log,
and deleting it (Spark's executors are owned by the driver pod and go with it). No Kubernetes
cluster runs here: the tests replay recorded API answers.
"""

from __future__ import annotations

from pathlib import Path

import httpx

DRIVER_SELECTOR = "spark-role=driver"


class KubernetesApi:
    def __init__(self, url: str, namespace: str = "default", token_file: str | None = None,
                 ca_file: str | None = None, timeout: float = 10.0):
        self.url = url.rstrip("/")
        self.namespace = namespace
        self.token_file = token_file
        self.verify: str | bool = ca_file or True
        self.timeout = timeout

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.token_file:
            # Read on each call: service-account tokens are rotated on disk.
            headers["Authorization"] = "Bearer " + Path(self.token_file).read_text().strip()
        return headers

    def _pods(self) -> str:
        return f"{self.url}/api/v1/namespaces/{self.namespace}/pods"

    def driver_pods(self, label: str, value: str) -> list[dict]:
        """Driver pods carrying ``label=value``, newest first."""
        r = httpx.get(self._pods(), params={"labelSelector": f"{DRIVER_SELECTOR},{label}={value}"},
                      headers=self._headers(), verify=self.verify, timeout=self.timeout)
        r.raise_for_status()
        pods = r.json().get("items") or []
        return sorted(pods, key=lambda p: (p.get("metadata") or {}).get("creationTimestamp") or "", reverse=True)

    def driver_pod(self, label: str, value: str) -> dict | None:
        pods = self.driver_pods(label, value)
        return pods[0] if pods else None

    def delete_pod(self, name: str, timeout: float | None = None) -> bool:
        """Delete a pod; False when it was already gone."""
        r = httpx.delete(f"{self._pods()}/{name}", headers=self._headers(), verify=self.verify,
                         timeout=timeout or self.timeout)
        if r.status_code == 404:
            return False
        r.raise_for_status()
        return True

    def pod_log(self, name: str) -> str:
        r = httpx.get(f"{self._pods()}/{name}/log", headers=self._headers(), verify=self.verify,
                      timeout=self.timeout)
        if r.status_code == 404:
            return ""
        r.raise_for_status()
        return r.text
