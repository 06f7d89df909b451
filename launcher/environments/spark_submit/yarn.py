"""The YARN ResourceManager's REST API (``/ws/v1/cluster``): find a run's application by its tag,
kill it. No YARN cluster runs here: the tests replay recorded ResourceManager answers.

On a Kerberos (SPNEGO) secured ResourceManager these calls need an authenticating client; this
one speaks the unsecured protocol, where a write names its user with ``user.name``.
"""

from __future__ import annotations

import getpass

import httpx


class ResourceManager:
    def __init__(self, url: str, timeout: float = 10.0):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def apps_by_tag(self, tag: str) -> list[dict]:
        """Every application carrying ``tag`` (YARN keeps tags lower-cased), newest first."""
        r = httpx.get(f"{self.url}/ws/v1/cluster/apps", params={"applicationTags": tag},
                      headers={"Accept": "application/json"}, timeout=self.timeout)
        r.raise_for_status()
        apps = ((r.json() or {}).get("apps") or {}).get("app") or []
        # The tag filter is a server-side "any of"; keep only exact tag matches.
        apps = [a for a in apps if tag in (a.get("applicationTags") or "").split(",")]
        return sorted(apps, key=lambda a: a.get("startedTime") or 0, reverse=True)

    def app_by_tag(self, tag: str) -> dict | None:
        apps = self.apps_by_tag(tag)
        return apps[0] if apps else None

    def kill(self, app_id: str, user: str | None = None, timeout: float | None = None) -> dict:
        """Ask YARN to kill the application (202 while it is being killed, 200 once done)."""
        r = httpx.put(f"{self.url}/ws/v1/cluster/apps/{app_id}/state", json={"state": "KILLED"},
                      params={"user.name": user or getpass.getuser()},
                      headers={"Accept": "application/json"}, timeout=timeout or self.timeout)
        r.raise_for_status()
        return r.json()
