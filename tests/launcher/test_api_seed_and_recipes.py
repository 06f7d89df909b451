"""The `make run` demo (seed + examples/requests bodies, run as the README says) and recipes
through the API (PUT validated, dependencies, cycles)."""

from __future__ import annotations

import json
import math

import pytest

from api_harness import EXAMPLES, ROOT, Api, add_user, api, json_lines, orders, read_csv_rows  # noqa: F401

REQUESTS = ROOT / "examples" / "requests"


@pytest.fixture
def demo(tmp_path, spark, launcher_home):
    """The app as `launcher serve` starts it on a fresh home: seeded, roots examples/ and var/data."""
    from fastapi.testclient import TestClient

    from api_harness import make_settings
    from launcher.api.app import create_app

    settings = make_settings(launcher_home, [str(ROOT / "examples"), str(tmp_path / "var" / "data")])
    app = create_app(settings, spark=spark, seed=True, base_dir=str(tmp_path))
    with TestClient(app) as client:
        a = Api(client=client, app=app, root=tmp_path / "var" / "data")
        a.tokens["admin"] = add_user(app.state.ctx.sessions, "admin")
        yield a


def expected_clean_orders():
    """orders.csv through the seed's recipe, computed here: quantity typed, amount derived, returned left out."""
    header, rows = orders()
    q, p, st = header.index("quantity"), header.index("unit_price"), header.index("status")
    out = []
    for r in rows:
        if r[st] == "returned":
            continue
        qty = int(r[q]) if r[q].isdigit() else None
        out.append((r[0], qty, None if qty is None else qty * float(r[p])))
    return sorted(out, key=lambda t: int(t[0]))


def test_seed_then_the_example_bodies(demo):
    datasets = demo.ok(demo.get("/v4/importedDatasets", user="admin"))
    assert sorted(d["name"] for d in datasets["data"]) == ["customers", "customers (json)", "orders"]
    assert {d["uri"] for d in datasets["data"]} == {str(EXAMPLES / n) for n in ("orders.csv", "customers.csv", "customers.json")}
    wrangled = demo.ok(demo.get("/v4/wrangledDatasets/1", user="admin"))
    assert wrangled["name"] == "orders (clean)" and wrangled["recipe"]

    body = json.loads((REQUESTS / "specify-job.json").read_text())
    gid = demo.ok(demo.post("/v4/jobGroups", body, user="admin"), 201)["id"]
    assert demo.wait(gid, user="admin") == "Complete"
    csv_path = demo.root / f"orders_clean_{gid}.csv"  # create: beside the name, _<jobGroupId>
    rows = read_csv_rows(csv_path)
    header = rows[0]
    got = sorted(((r[header.index("order_id")], int(r[header.index("quantity")]) if r[header.index("quantity")] else None,
                   float(r[header.index("amount")]) if r[header.index("amount")] else None) for r in rows[1:]),
                 key=lambda t: int(t[0]))
    want = expected_clean_orders()
    assert [(a, b) for a, b, _ in got] == [(a, b) for a, b, _ in want]
    assert all((x is None and y is None) or math.isclose(x, y, rel_tol=1e-9) for (_, _, x), (_, _, y) in zip(got, want))
    assert len(json_lines(demo.root / "orders_clean.json")) == len(want)
    assert "quantity" in demo.ok(demo.get(f"/v4/jobGroups/{gid}/profile", user="admin"))["columnTypes"]

    rerun = json.loads((REQUESTS / "rerun.json").read_text())
    gid2 = demo.ok(demo.post("/v4/jobGroups", rerun, user="admin"), 201)["id"]
    assert demo.wait(gid2, user="admin") == "Complete"
    assert read_csv_rows(demo.root / f"orders_clean_{gid2}.csv") == rows


def test_second_start_does_not_seed_again(tmp_path, spark, launcher_home):
    from api_harness import make_settings
    from launcher.api.app import create_app
    from launcher.seed import seed_if_first_start

    settings = make_settings(launcher_home, [str(tmp_path)])
    app = create_app(settings, dispatcher=_Idle(), seed=True)
    assert seed_if_first_start(settings, app.state.ctx.sessions) is None
    with app.state.ctx.sessions() as s:
        from launcher.store import repo_datasets

        assert repo_datasets.list_imported(s)[1] == 3


class _Idle:
    """A dispatcher that is never started: this test only looks at the store."""

    environments: dict = {}

    def enqueue(self, group_id):
        raise AssertionError("nothing is run here")

    def mark_queued(self, s, group_id):
        raise AssertionError("nothing is run here")


def test_recipe_put_is_validated_and_dependencies_checked(api):
    orders_id = api.imported(api.root / "orders.csv")
    customers_id = api.imported(api.root / "customers.csv")
    customers = api.wrangled(customers_id, [{"op": "drop", "col": ["segment"]}], name="customers")
    ds = api.wrangled(orders_id, name="orders")

    bad = api.put(f"/v4/wrangledDatasets/{ds}/recipe", {"steps": [
        {"op": "derive", "value": "quantity *", "as": "x"}, {"op": "frobnicate"}]})
    assert bad.status_code == 400
    message = bad.json()["exception"]["message"]
    assert message.startswith("steps[0]") and "steps[1]" in message
    assert api.ok(api.get(f"/v4/wrangledDatasets/{ds}/recipe"))["steps"] == []  # nothing saved

    # A join with a dataset bob cannot see is refused for bob, even as an editor.
    api.ok(api.post(f"/v4/wrangledDatasets/{ds}/permissions", {"user": "bob", "role": "editor"}), 201)
    bobs = api.wrangled(api.imported(api.root / "customers.csv", user="bob"), user="bob", name="bob's")
    join_bobs = {"steps": [{"op": "join", "with": {"wrangledDataset": bobs}, "type": "left",
                            "on": [{"left": "customer_id", "right": "customer_id"}]}]}
    r = api.put(f"/v4/wrangledDatasets/{ds}/recipe", join_bobs)
    assert r.status_code == 400 and "steps[0]" in r.json()["exception"]["message"]
    assert "not shared with you" in r.json()["exception"]["message"]

    join = {"steps": [{"op": "join", "with": {"wrangledDataset": customers}, "type": "left",
                       "on": [{"left": "customer_id", "right": "customer_id"}], "columns": ["name", "country"]}]}
    assert api.ok(api.put(f"/v4/wrangledDatasets/{ds}/recipe", join))["recipe"] == join["steps"]
    # customers joining back to orders would close a cycle.
    back = {"steps": [{"op": "lookup", "with": {"wrangledDataset": ds}, "col": "customer_id", "key": "customer_id"}]}
    r = api.put(f"/v4/wrangledDatasets/{customers}/recipe", back)
    assert r.status_code == 400 and "cycle" in r.json()["exception"]["message"]
    assert r.json()["exception"]["message"].startswith("steps:")

    # The join runs: the dependency's recipe runs in the same job.
    body = {"wrangledDataset": {"id": ds}, "overrides": {"execution": "photon", "writesettings": [
        {"path": str(api.root / "joined.json"), "action": "overwrite", "format": "json", "asSingleFile": True}]}}
    gid = api.ok(api.post("/v4/jobGroups", body), 201)["id"]
    assert api.wait(gid) == "Complete", api.get(f"/v4/jobGroups/{gid}?embed=jobs").json()
    got = json_lines(api.root / "joined.json")
    cust = {r[0]: r for r in read_csv_rows(api.root / "customers.csv")[1:]}
    header, rows = orders()
    assert len(got) == len(rows)
    for d in got:
        c = cust.get(str(d["customer_id"]))
        assert d.get("name") == (c[1] if c else None) and d.get("country") == (c[3] if c else None)
