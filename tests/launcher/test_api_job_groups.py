"""Job groups through HTTP with the real Dispatcher and real local Spark (photon).

Outputs are read back with independent readers (csv, gzip, json, pyarrow) and compared with
the source read by Python's csv module with the recipe applied by hand.
"""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import pyarrow.parquet as pq
import requests

from api_harness import Uvicorn, api, json_lines, orders, read_csv_rows  # noqa: F401 (fixture)

RECIPE = [{"op": "drop", "col": ["status"]}, {"op": "rename", "mapping": {"quantity": "qty"}}]


def expected_rows():
    """orders.csv with the RECIPE applied: status dropped, quantity renamed."""
    header, rows = orders()
    keep = [i for i, name in enumerate(header) if name != "status"]
    names = ["qty" if header[i] == "quantity" else header[i] for i in keep]
    return names, [[r[i] for i in keep] for r in rows]


def test_v4_body_writes_every_output_and_reports_it(api):
    imp = api.imported(api.root / "orders.csv")
    ds = api.wrangled(imp, RECIPE)
    body = {
        "wrangledDataset": {"id": ds},
        "overrides": {
            "execution": "photon",
            "profiler": False,
            "writeSettings": [
                {"path": str(api.root / "out" / "orders.csv"), "action": "create", "format": "csv",
                 "compression": "gzip", "header": True, "asSingleFile": True},
                {"path": "data/out/orders.json", "action": "overwrite", "format": "json", "header": False},
                {"path": str(api.root / "out" / "orders_pqt"), "action": "overwrite", "format": "parquet"},
            ],
        },
        "ranfrom": "cli",
    }
    answer = api.ok(api.post("/v4/jobGroups", body), 201)
    gid = answer["id"]
    job_ids = [j["id"] for j in answer["jobs"]["data"]]
    assert len(job_ids) == 4
    assert answer["jobGraph"] == {"vertices": job_ids,
                                  "edges": [{"source": job_ids[0], "target": j} for j in job_ids[1:]]}
    assert answer["reason"] == "JobStarted" and len(answer["sessionId"]) == 36
    assert api.wait(gid) == "Complete"

    names, rows = expected_rows()
    outs = api.ok(api.get(f"/v4/jobGroups/{gid}/outputs"))["data"]
    assert [o["jobId"] for o in outs] == job_ids[1:]
    csv_out, json_out, pqt_out = outs
    # create: _<jobGroupId> before the extension; compression adds .gz to the single file.
    assert csv_out["path"].startswith(str(api.root / "out" / f"orders_{gid}.csv"))
    assert json_out["path"] == str(api.root / "out" / "orders.json")  # relative to where the launcher runs
    assert [o["rows"] for o in outs] == [len(rows)] * 3
    assert csv_out["writeSetting"]["format"] == "csv" and pqt_out["writeSetting"]["format"] == "pqt"

    [csv_file] = csv_out["files"]
    with gzip.open(csv_file["path"], "rt", encoding="utf-8", newline="") as f:
        import csv

        got = list(csv.reader(f))
    assert got[0] == names
    assert sorted(got[1:]) == sorted(rows)

    # Not asSingleFile: a folder of part files.
    assert Path(json_out["path"]).is_dir() and json_out["files"]
    got_json = [d for f in json_out["files"] for d in json_lines(Path(f["path"]))]
    as_text = [[("" if d.get(n) is None else str(d[n])) for n in names] for d in got_json]
    assert sorted(as_text) == sorted(rows)

    table = pq.read_table(pqt_out["path"]).to_pylist()
    assert sorted([["" if d[n] is None else str(d[n]) for n in names] for d in table]) == sorted(rows)

    group = api.ok(api.get(f"/v4/jobGroups/{gid}?embed=jobs"))
    assert group["status"] == "Complete" and group["ranfrom"] == "cli" and group["execution"] == "photon"
    assert group["wrangledDataset"] == {"id": ds} and group["profilingEnabled"] is False
    assert [j["jobType"] for j in group["jobs"]["data"]] == ["wrangle", "filewriter", "filewriter", "filewriter"]
    assert all(j["status"] == "Complete" and j["percentComplete"] == 100 for j in group["jobs"]["data"])
    assert api.ok(api.get(f"/v4/jobGroups/{gid}/jobs"))["data"] == group["jobs"]["data"]
    assert "jobs" not in api.ok(api.get(f"/v3/jobGroups/{gid}"))

    # Not profiled: 400 ProfilingDataNotFound.
    r = api.get(f"/v4/jobGroups/{gid}/profile")
    assert r.status_code == 400 and r.json()["exception"]["name"] == "ProfilingDataNotFound"

    # The log, paged, after the end.
    log = api.ok(api.get(f"/v4/jobs/{job_ids[0]}/log"))
    assert log["data"] and log["complete"] is True
    page = api.ok(api.get(f"/v4/jobs/{job_ids[1]}/log?from=1&size=1"))
    assert page["data"] == log["data"][1:2] and page["next"] == 2


def test_reference_bodies_exactly_as_printed(api):
    """The page's specify-job body (hdfs path, profiler, ranfrom null) and then its re-run body.

    No Hadoop cluster here: the runs fail to write, which must show as Failed with the cause,
    while the answers, the saved jobs and the translated outputs are checked exactly."""
    from launcher.settings import load_settings

    api.app.state.ctx.settings = load_settings(
        home=api.app.state.ctx.settings.home,
        storage_roots=[str(api.root), "hdfs://hadoop:50070/trifacta"])
    imp = api.imported(api.root / "orders.csv")
    for _ in range(6):  # the page's dataset is number 7
        api.wrangled(imp)
    assert api.wrangled(imp, RECIPE) == 7
    specify = """{
  "wrangledDataset": {
    "id": 7
  },
  "overrides": {
    "execution": "photon",
    "profiler": true,
    "writesettings": [
      {
        "path": "hdfs://hadoop:50070/trifacta/queryResults/admin@trifacta.local/cdr_txt.csv",
        "action": "create",
        "format": "csv",
        "compression": "none",
        "header": false,
        "asSingleFile": false
      }
    ]
  },
  "ranfrom": null
}"""
    r = api.client.post("/v3/jobGroups", content=specify,
                        headers={**api.h("alice"), "Content-Type": "application/json"})
    first = api.ok(r, 201)
    assert set(first) == {"jobgroupId", "jobIds", "reason", "sessionId"}
    assert first["reason"] == "JobStarted" and len(first["jobIds"]) == 3  # wrangle, filewriter, profile
    gid = first["jobgroupId"]
    jobs = api.ok(api.get(f"/v4/jobGroups/{gid}/jobs"))["data"]
    assert [j["jobType"] for j in jobs] == ["wrangle", "filewriter", "profile"]
    assert jobs[1]["outputPath"] == (
        f"hdfs://hadoop:50070/trifacta/queryResults/admin@trifacta.local/cdr_txt_{gid}.csv")
    assert api.ok(api.get(f"/v4/jobGroups/{gid}"))["ranfrom"] is None
    assert api.wait(gid) == "Failed"
    group = api.ok(api.get(f"/v4/jobGroups/{gid}?embed=jobs"))
    assert group["errorMessage"] and "hadoop" in json.dumps(group["jobs"]["data"]).lower()

    rerun = api.client.post("/v3/jobGroups", content='{\n  "wrangledDataset": {\n    "id": 7\n  }\n}',
                            headers={**api.h("alice"), "Content-Type": "application/json"})
    second = api.ok(rerun, 201)
    gid2 = second["jobgroupId"]
    assert gid2 != gid and len(second["jobIds"]) == 3
    jobs2 = api.ok(api.get(f"/v4/jobGroups/{gid2}/jobs"))["data"]
    assert jobs2[1]["writeSetting"] == jobs[1]["writeSetting"]
    assert jobs2[1]["outputPath"].endswith(f"/cdr_txt_{gid2}.csv")
    assert api.ok(api.get(f"/v4/jobGroups/{gid2}"))["profilingEnabled"] is True
    api.wait(gid2)


def test_public_trifacta_client_flow_on_a_real_server(api):
    """What the `trifacta` PyPI client does: POST /v4/jobGroups with only the dataset id (after a
    first run), read `id`, poll /v4/jobGroups/{id}/status until the body is "Complete"."""
    imp = api.imported(api.root / "orders.csv")
    ds = api.wrangled(imp, [{"op": "filter", "row": "customer_id > 20", "action": "Keep"}])
    first = {"wrangledDataset": {"id": ds}, "overrides": {"execution": "photon", "writesettings": [
        {"path": str(api.root / "flow" / "big_orders.csv"), "action": "create", "format": "csv",
         "header": True, "asSingleFile": True}]}}
    gid1 = api.ok(api.post("/v4/jobGroups", first), 201)["id"]
    assert api.wait(gid1) == "Complete"

    with Uvicorn(api.app) as server:
        token = api.tokens["alice"]
        # The client's own calls, as it makes them (requests, json=, Bearer, json.loads(text)).
        response = requests.post(server.url + "/v4/jobGroups", headers={"Authorization": "Bearer " + token},
                                 json={"wrangledDataset": {"id": ds}})
        assert response.status_code == 201 and response.headers["X-Request-Id"]
        job_group_id = json.loads(response.text)["id"]
        seen = []
        deadline = time.monotonic() + 180
        job_status = None
        while job_status != "Complete":
            job_status = json.loads(requests.get(
                server.url + "/v4/jobGroups/{0}/status".format(job_group_id),
                headers={"Authorization": "Bearer " + token}).text)
            seen.append(job_status)
            assert job_status not in ("Failed", "Canceled"), seen
            assert time.monotonic() < deadline, seen
            time.sleep(0.05)
    assert set(seen) <= {"Created", "Pending", "InProgress", "Complete"}

    header, rows = orders()
    c = header.index("customer_id")
    expected = sorted(r for r in rows if int(r[c]) > 20)
    for gid in (gid1, job_group_id):
        got = read_csv_rows(api.root / "flow" / f"big_orders_{gid}.csv")
        assert got[0] == header and sorted(got[1:]) == expected


def test_profile_of_a_profiled_group(api):
    imp = api.imported(api.root / "orders.csv")
    ds = api.wrangled(imp, [{"op": "settype", "col": ["quantity"], "type": "Integer"}])
    body = {"wrangledDataset": {"id": ds}, "overrides": {"execution": "photon", "profiler": True,
            "writesettings": [{"path": str(api.root / "p" / "o.pqt"), "action": "overwrite", "format": "pqt"}]}}
    gid = api.ok(api.post("/v3/jobGroups", body), 201)["jobgroupId"]
    assert api.wait(gid) == "Complete", api.get(f"/v4/jobGroups/{gid}?embed=jobs").json()
    profile = api.ok(api.get(f"/v4/jobGroups/{gid}/profile"))
    assert set(profile) >= {"columnTypes", "profilerTypeCheckHistograms", "profilerValidValueHistograms"}
    header, rows = orders()
    q = header.index("quantity")
    empty = sum(1 for r in rows if r[q] == "")
    checks = {c["key"]: c["count"] for c in profile["profilerTypeCheckHistograms"]["quantity"]}
    assert checks.get("EMPTY", 0) == empty
    assert checks.get("VALID", 0) + checks.get("INVALID", 0) + checks.get("EMPTY", 0) == len(rows)
    valid = [int(r[q]) for r in rows if r[q].isdigit()]
    assert checks["INVALID"] == sum(1 for r in rows if r[q] and not r[q].isdigit())
    assert profile["profilerValidValueHistograms"]["quantity"]["min"] == min(valid)
    assert profile["profilerValidValueHistograms"]["quantity"]["max"] == max(valid)


def test_list_is_newest_first_with_paging_and_own_groups_only(api):
    imp = api.imported(api.root / "orders.csv")
    ds = api.wrangled(imp)
    body = {"wrangledDataset": {"id": ds}, "overrides": {"execution": "photon", "writesettings": [
        {"path": str(api.root / "l" / "o.csv"), "action": "overwrite", "format": "csv"}]}}
    ids = [api.ok(api.post("/v4/jobGroups", body), 201)["id"] for _ in range(3)]
    bob_imp = api.imported(api.root / "customers.csv", user="bob")
    bob_ds = api.wrangled(bob_imp, user="bob")
    bob_gid = api.ok(api.post("/v4/jobGroups", {**body, "wrangledDataset": {"id": bob_ds}}, user="bob"), 201)["id"]

    page = api.ok(api.get("/v4/jobGroups?limit=2&offset=0"))
    assert page["count"] == 3 and [g["id"] for g in page["data"]] == ids[::-1][:2]
    page2 = api.ok(api.get("/v4/jobGroups?limit=2&offset=2&embed=jobs"))
    assert [g["id"] for g in page2["data"]] == [ids[0]] and "jobs" in page2["data"][0]
    everyone = api.ok(api.get("/v4/jobGroups?limit=100", user="admin"))
    assert everyone["count"] == 4 and [g["id"] for g in everyone["data"]] == [bob_gid, *ids[::-1]]
    for gid in (*ids, bob_gid):
        api.wait(gid, user="admin")


def test_idempotency_key_returns_the_first_group(api):
    imp = api.imported(api.root / "orders.csv")
    ds = api.wrangled(imp)
    body = {"wrangledDataset": {"id": ds}, "overrides": {"execution": "photon", "writesettings": [
        {"path": str(api.root / "i" / "o.csv"), "action": "create", "format": "csv"}]}}
    key = {"Idempotency-Key": "run-2024-06-01"}
    a = api.post("/v4/jobGroups", body, headers=key)
    b = api.post("/v4/jobGroups", body, headers=key)
    assert a.status_code == b.status_code == 201
    assert a.json() == b.json() and b.headers["Idempotent-Replayed"] == "true"
    assert api.ok(api.get("/v4/jobGroups"))["count"] == 1
    # Another user's same key is their own.
    api.ok(api.post(f"/v4/wrangledDatasets/{ds}/permissions", {"user": "bob", "role": "viewer"}), 201)
    c = api.post("/v4/jobGroups", body, user="bob", headers=key)
    assert c.status_code == 201 and c.json()["id"] != a.json()["id"]
    # The same key with another body: 409 naming the header.
    changed = {**body, "overrides": {**body["overrides"], "profiler": True}}
    d = api.post("/v4/jobGroups", changed, headers=key)
    assert d.status_code == 409 and "Idempotency-Key" in d.json()["exception"]["message"]
    api.wait(a.json()["id"])
    api.wait(c.json()["id"], user="bob")


def test_first_run_needs_settings_and_rerun_repeats_them(api):
    imp = api.imported(api.root / "orders.csv")
    ds = api.wrangled(imp)
    r = api.post("/v4/jobGroups", {"wrangledDataset": {"id": ds}})
    assert r.status_code == 400
    msg = r.json()["exception"]["message"]
    assert "overrides.execution" in msg and "overrides.writesettings" in msg and "first run" in msg
    assert api.ok(api.get("/v4/jobGroups"))["count"] == 0  # nothing saved for a refused request
