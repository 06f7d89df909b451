"""The Job Results and profile pages in a real headless Chromium (Debian's package).

A real uvicorn serves the app with photon on the test session's Spark; two users run jobs
through the HTTP API; the browser logs in with a token and the figures shown are checked
against figures computed here from the raw csv with Python's csv module.
"""

from __future__ import annotations

import csv
import socket
import statistics
import threading
import time
from pathlib import Path

import httpx
import pytest


ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium tries to reach outside hosts at every start.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_orders(path: Path) -> list[dict]:
    rows = []
    for i in range(120):
        qty = "" if i % 17 == 0 else ("n/a" if i % 23 == 0 else str(i % 9 + 1))
        rows.append({"order_id": str(1000 + i), "city": ["Lyon", "Berlin", "Osaka", "Austin"][i % 4] if i % 3 else "Lyon",
                     "qty": qty, "price": f"{(i * 7) % 50 + 0.25:.2f}"})
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return rows


@pytest.fixture
def server(settings, spark):
    import uvicorn

    from launcher.api.app import create_app

    app = create_app(settings, spark=spark)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield app, f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(30)


def _token(app, name: str) -> str:
    from launcher import auth
    from launcher.store import repo_users

    with app.state.ctx.sessions() as s:
        user = repo_users.create_user(s, name)
        s.flush()
        token = auth.create_token(s, user, description="browser test")
        s.commit()
        return token.secret


def _run_profiled_job(url: str, token: str, src: Path, out: Path) -> int:
    h = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=h, timeout=30) as c:
        imp = c.post("/v4/importedDatasets", json={"name": "orders", "uri": str(src), "format": "csv"})
        assert imp.status_code == 201, imp.text
        wr = c.post("/v4/wrangledDatasets", json={
            "name": "orders typed", "importedDataset": {"id": imp.json()["id"]},
            "recipe": [{"op": "settype", "col": ["qty"], "type": "Integer"},
                       {"op": "settype", "col": ["price"], "type": "Decimal"}]})
        assert wr.status_code == 201, wr.text
        jg = c.post("/v4/jobGroups", json={
            "wrangledDataset": {"id": wr.json()["id"]}, "ranfrom": "ui",
            "overrides": {"execution": "photon", "profiler": True,
                          "writesettings": [{"path": str(out), "action": "create", "format": "csv",
                                             "header": True, "asSingleFile": True}]}})
        assert jg.status_code == 201, jg.text
        gid = jg.json()["id"]
        deadline = time.monotonic() + 120
        while (status := c.get(f"/v4/jobGroups/{gid}/status").json()) not in ("Complete", "Failed", "Canceled"):
            assert time.monotonic() < deadline, f"job group {gid} still {status}"
            time.sleep(0.2)
        assert status == "Complete", c.get(f"/v4/jobGroups/{gid}?embed=jobs").text
        return gid


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def test_job_results_and_profile_pages(server, storage_root):
    from playwright.sync_api import sync_playwright

    app, url = server
    alice, bob = _token(app, "alice"), _token(app, "bob")
    src = storage_root / "orders.csv"
    rows = _write_orders(src)
    mine = _run_profiled_job(url, alice, src, storage_root / "out" / "orders.csv")
    theirs = _run_profiled_job(url, bob, src, storage_root / "out" / "bob.csv")

    # Figures computed independently from the raw csv.
    qty_valid = sum(1 for r in rows if r["qty"].isdigit())
    qty_invalid = sum(1 for r in rows if r["qty"] and not r["qty"].isdigit())
    qty_empty = sum(1 for r in rows if r["qty"] == "")
    prices = [float(r["price"]) for r in rows]
    top_city, top_count = statistics.mode([r["city"] for r in rows]), max(
        sum(1 for r in rows if r["city"] == c) for c in {r["city"] for r in rows})

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            # No page without a login: /jobs sends the browser to the form.
            page.goto(f"{url}/jobs")
            assert "/login" in page.url
            page.fill("#token", "not-a-token")
            page.click("button[type=submit]")
            assert "not valid" in page.inner_text("[role=alert]")
            page.fill("#token", alice)
            page.click("button[type=submit]")
            page.wait_for_url(f"{url}/jobs")

            row = page.locator(f"tr[data-jobgroup='{mine}']")
            assert row.locator("[data-status]").inner_text() == "Complete"
            assert "photon" in row.inner_text() and "alice" in row.inner_text()
            # Another user's job group is not shown.
            assert page.locator(f"tr[data-jobgroup='{theirs}']").count() == 0
            # The session cookie is HttpOnly: page scripts cannot read the token.
            assert "launcher_token" not in page.evaluate("document.cookie")
            page.screenshot(path=str(ARTIFACTS / "job_results.png"), full_page=True)

            row.locator("a", has_text="profile").click()
            page.wait_for_url(f"{url}/jobGroups/{mine}/profile")
            qty = page.locator("section[data-column='qty']")
            assert qty.locator(".type").inner_text() == "Integer"
            shown = {k: _num(qty.locator(f"[data-check={k}]").inner_text().split()[-1])
                     for k in ("VALID", "INVALID", "EMPTY")}
            assert shown == {"VALID": qty_valid, "INVALID": qty_invalid, "EMPTY": qty_empty}

            price = page.locator("section[data-column='price']")
            assert _num(price.locator("[data-stat=min]").inner_text()) == pytest.approx(min(prices))
            assert _num(price.locator("[data-stat=max]").inner_text()) == pytest.approx(max(prices))
            assert _num(price.locator("[data-stat=mean]").inner_text()) == pytest.approx(
                statistics.mean(prices), rel=1e-3)
            assert price.locator("svg[aria-label=histogram] rect").count() == 20

            city = page.locator("section[data-column='city']")
            first_bar = city.locator("svg[aria-label='top values'] g").first
            assert first_bar.locator("text").first.text_content() == top_city
            assert _num(first_bar.locator("text").last.text_content()) == top_count
            # Text columns' distinct counts are exact (no ≈); number columns' are estimates.
            assert _num(city.locator("[data-stat=distinct]").inner_text()) == len({r["city"] for r in rows})
            assert price.locator("[data-stat='distinct ≈']").count() == 1
            page.screenshot(path=str(ARTIFACTS / "profile.png"), full_page=True)

            # Bob's profile page is not Alice's to see.
            resp = page.goto(f"{url}/jobGroups/{theirs}/profile")
            assert resp.status == 404
        finally:
            browser.close()
