"""Bad requests: every one a 4xx in the {"exception": ...} shape naming the field, never 422/500,
and nothing saved for it. Each answer carries X-Request-Id."""

from __future__ import annotations

import json

import pytest

from api_harness import shared_api  # noqa: F401 (fixture)

# No test here saves a job group: they share one app (and one dataset).


@pytest.fixture
def api(shared_api):
    return shared_api


@pytest.fixture(scope="module")
def ds(shared_api):
    imp = shared_api.imported(shared_api.root / "orders.csv")
    return shared_api.wrangled(imp)


def ws(api, **kw):
    return {"path": str(api.root / "out.csv"), "action": "overwrite", "format": "csv", **kw}


def error(r, status):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["X-Request-Id"]
    body = r.json()
    assert set(body) == {"exception"} and set(body["exception"]) == {"name", "message", "details"}
    return body["exception"]


BAD_BODIES = [
    # (body maker, expected status, words the message must hold)
    (lambda a, d: {"wrangledDataset": {"id": str(d)}}, 400, ["wrangledDataset.id", "integer"]),
    (lambda a, d: {"wrangledDataset": d}, 400, ["wrangledDataset", "dictionary"]),
    (lambda a, d: {"wrangledDataset": {"id": d}, "overrides": {"execution": "photon", "profiler": "yes",
                                                             "writesettings": [ws(a)]}}, 400, ["overrides.profiler", "boolean"]),
    (lambda a, d: {"wrangledDataset": {"id": d}, "overrides": {"execution": "photon", "writesettings": ws(a)}},
     400, ["overrides.writesettings", "list"]),
    (lambda a, d: {"wrangledDataset": {"id": d}, "overrides": {"execution": "photon", "writesettings": [
        ws(a, header="true")]}}, 400, ["overrides.writesettings[0].header", "boolean"]),
    (lambda a, d: {"wrangledDataset": {"id": d}, "colour": "blue"}, 400,
     ["colour", "unknown field", "wrangledDataset, overrides, ranfrom"]),
    (lambda a, d: {"wrangledDataset": {"id": d}, "overrides": {"execution": "photon", "writesettings": [
        ws(a, includeMismatches=True)]}}, 400, ["overrides.writesettings[0].includeMismatches", "unknown field", "asSingleFile"]),
    (lambda a, d: {"wrangledDataset": {"id": d}, "overrides": {"execution": "photon", "writesettings": []}},
     400, ["overrides.writesettings", "at least one"]),
    (lambda a, d: {"wrangledDataset": {"id": d}, "overrides": {"execution": "emr", "writesettings": [ws(a)]}},
     400, ["overrides.execution", "'photon', 'spark' or 'databricksSpark'", "'emr'"]),
    (lambda a, d: {"wrangledDataset": {"id": d}, "overrides": {"execution": "photon", "writesettings": [
        ws(a, format="xlsx")]}}, 400, ["overrides.writesettings[0].format", "'csv', 'json', 'avro', 'pqt' or 'delta'"]),
    (lambda a, d: {"wrangledDataset": {"id": d}, "overrides": {"execution": "photon", "writesettings": [
        ws(a, action="replace")]}}, 400, ["overrides.writesettings[0].action", "'create', 'append' or 'overwrite'"]),
    (lambda a, d: {"wrangledDataset": {"id": d}, "overrides": {"execution": "photon", "writesettings": [
        ws(a, compression="snappy")]}}, 400, ["overrides.writesettings[0].compression", "'none', 'gzip' or 'bzip2'"]),
    (lambda a, d: {"wrangledDataset": {"id": d}, "overrides": {"execution": "photon", "writesettings": [
        ws(a, format="avro", header=True)]}}, 400, ["overrides.writesettings[0].header", "csv only"]),
    (lambda a, d: {"wrangledDataset": {"id": d}, "overrides": {"execution": "photon", "writesettings": [
        ws(a, format="delta", compression="gzip")]}}, 400, ["overrides.writesettings[0].compression", "not delta"]),
    (lambda a, d: {"wrangledDataset": {"id": d}, "overrides": {"execution": "photon", "writesettings": [
        ws(a, delim=";;")]}}, 400, ["overrides.writesettings[0].delim", "1 character"]),
    (lambda a, d: {"wrangledDataset": {"id": d}, "overrides": {"execution": "photon", "writesettings": [
        ws(a, path="")]}}, 400, ["overrides.writesettings[0].path"]),
    (lambda a, d: {"wrangledDataset": {"id": d}, "overrides": {"execution": "photon", "writesettings": [
        ws(a, path="/etc/cron.d/evil.csv")]}}, 403, ["overrides.writesettings[0].path", "outside the storage roots"]),
    (lambda a, d: {"wrangledDataset": {"id": d}, "overrides": {"execution": "photon", "writesettings": [
        ws(a, path=str(a.root / ".." / "escape.csv"))]}}, 403, ["overrides.writesettings[0].path", "outside"]),
    (lambda a, d: {"wrangledDataset": {"id": d}, "overrides": {"execution": "databricksSpark", "writesettings": [
        ws(a)]}}, 400, ["overrides.execution", "databricksSpark", "host"]),
    (lambda a, d: {"wrangledDataset": {"id": 999}, "overrides": {"execution": "photon", "writesettings": [
        ws(a)]}}, 404, ["wrangled dataset 999"]),
    (lambda a, d: [{"wrangledDataset": {"id": d}}], 400, ["body", "valid dictionary"]),
    (lambda a, d: {}, 400, ["wrangledDataset", "required"]),
]


@pytest.mark.parametrize("case", range(len(BAD_BODIES)))
def test_bad_job_group_bodies(api, ds, case):
    make, status, words = BAD_BODIES[case]
    body = make(api, ds)
    for version in ("v3", "v4"):
        e = error(api.post(f"/{version}/jobGroups", body), status)
        for w in words:
            assert w in e["message"], (w, e)
    assert api.ok(api.get("/v4/jobGroups"))["count"] == 0  # nothing saved for any of them


def test_a_symlink_out_of_the_root_is_outside(api, ds, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (api.root / "link").symlink_to(outside, target_is_directory=True)
    body = {"wrangledDataset": {"id": ds}, "overrides": {"execution": "photon", "writesettings": [
        ws(api, path=str(api.root / "link" / "o.csv"))]}}
    e = error(api.post("/v4/jobGroups", body), 403)
    assert e["name"] == "PathNotAllowed" and str(outside / "o.csv") in json.dumps(e["details"])


def test_not_json(api, ds):
    r = api.client.post("/v4/jobGroups", content=b'"wrangledDataset": {\n  "id": 7',
                        headers={**api.h(), "Content-Type": "application/json"})
    assert "not valid JSON" in error(r, 400)["message"]
    r = api.client.post("/v4/jobGroups", content=b"wrangledDataset=1",
                        headers={**api.h(), "Content-Type": "application/x-www-form-urlencoded"})
    e = error(r, 415)
    assert "application/json" in e["message"] and e["name"] == "UnsupportedMediaType"


def test_a_10_mb_body_gets_413(api, ds):
    big = {"wrangledDataset": {"id": ds}, "pad": "x" * (10 * 1024 * 1024)}
    e = error(api.post("/v4/jobGroups", big), 413)
    assert e["name"] == "PayloadTooLarge" and "limit" in e["message"]
    # The same without Content-Length (chunked): read up to the limit, then 413.
    data = json.dumps(big).encode()
    r = api.client.post("/v4/jobGroups", content=iter([data[i:i + 65536] for i in range(0, len(data), 65536)]),
                        headers={**api.h(), "Content-Type": "application/json"})
    assert error(r, 413)["name"] == "PayloadTooLarge"
    assert api.ok(api.client.get("/health"))["status"] == "ok"


def test_query_and_path_errors_name_the_parameter(api):
    e = error(api.get("/v4/jobGroups?limit=-1"), 400)
    assert e["message"].startswith("limit:")
    e = error(api.get("/v4/jobGroups?offset=abc"), 400)
    assert "offset" in e["message"]
    e = error(api.get("/v4/jobGroups/abc"), 400)
    assert "group_id" in e["message"]
    e = error(api.get("/v4/jobGroups?embed=everything"), 400)
    assert "embed" in e["message"] and "jobs" in e["message"]
    e = error(api.get("/v4/jobs/1/log?size=0"), 400)
    assert "size" in e["message"]


def test_unknown_routes_and_methods(api):
    e = error(api.get("/v4/nothingHere"), 404)
    assert e["name"] == "NotFound"
    e = error(api.client.delete("/v4/jobGroups", headers=api.h()), 405)
    assert e["name"] == "MethodNotAllowed"


def test_request_id_is_kept_or_made(api):
    r = api.client.get("/health", headers={"X-Request-Id": "abc-123"})
    assert r.headers["X-Request-Id"] == "abc-123"
    r = api.client.get("/health", headers={"X-Request-Id": "no spaces allowed\x01"})
    assert r.headers["X-Request-Id"] != "no spaces allowed\x01" and len(r.headers["X-Request-Id"]) == 32
    assert api.get("/v4/jobGroups").headers["X-Request-Id"]


def test_openapi_document(api):
    doc = api.get("/openapi.json").json()
    assert api.client.get("/docs").status_code == 404  # no Swagger UI: its script is on a CDN
    for path in ("/v3/jobGroups", "/v4/jobGroups", "/v4/jobGroups/{group_id}/status", "/v4/jobs/{job_id}/log",
                 "/v4/importedDatasets", "/v4/wrangledDatasets/{dataset_id}/recipe",
                 "/v4/wrangledDatasets/{dataset_id}/permissions", "/v4/apiAccessTokens", "/health"):
        assert path in doc["paths"], path
    schema = doc["components"]["schemas"]["OverridesIn"]["properties"]
    assert "writesettings" in schema
    assert "422" not in json.dumps(doc["paths"])  # validation errors are 400s here
    assert doc["paths"]["/v4/jobGroups"]["post"]["responses"]["400"]["content"]


def test_bad_dataset_bodies(api):
    e = error(api.post("/v4/importedDatasets", {"name": "x", "uri": "/etc/passwd"}), 403)
    assert e["message"].startswith("uri:")
    e = error(api.post("/v4/importedDatasets", {"name": "x", "uri": str(api.root / "missing.csv")}), 400)
    assert e["message"].startswith("uri:")
    (api.root / "data.bin").write_bytes(b"\0")
    e = error(api.post("/v4/importedDatasets",
                       {"name": "x", "uri": str(api.root / "data.bin")}), 400)
    assert e["message"].startswith("format:") and "csv, json, pqt, avro, delta, text" in e["message"]
    e = error(api.post("/v4/importedDatasets", {"name": "x", "uri": str(api.root / "orders.csv"), "format": "xls"}), 400)
    assert "format" in e["message"]
    e = error(api.post("/v4/importedDatasets", {"name": "x", "uri": str(api.root / "orders.csv"),
                                                "options": {"delimiter": ";", "sep": ","}}), 400)
    assert "options.sep" in e["message"] and "delimiter" in e["message"]
    imp = api.imported(api.root / "orders.csv")
    e = error(api.post("/v4/wrangledDatasets", {"name": "w"}), 400)
    assert "importedDataset" in e["message"] and "wrangledDataset" in e["message"]
    e = error(api.post("/v4/wrangledDatasets", {"name": "w", "importedDataset": {"id": imp},
                                                "wrangledDataset": {"id": 1}}), 400)
    assert "exactly one" in e["message"]
    e = error(api.post("/v4/wrangledDatasets", {"name": "w", "importedDataset": {"id": 999}}), 404)
    e = error(api.post("/v4/wrangledDatasets", {"name": "w", "importedDataset": {"id": imp},
                                                "recipe": [{"op": "nosuchop"}]}), 400)
    assert e["message"].startswith("recipe[0]")
    e = error(api.post("/v4/apiAccessTokens", {"lifetimeSeconds": 0}), 400)
    assert "lifetimeSeconds" in e["message"]
    e = error(api.post("/v4/apiAccessTokens", {"lifetimeSeconds": "3600"}), 400)
    assert "lifetimeSeconds" in e["message"]


def test_format_is_found_from_the_name_or_the_folder(api, tmp_path):
    (api.root / "c.json").write_text('{"a": 1}\n')
    assert api.ok(api.post("/v4/importedDatasets", {"name": "j", "uri": str(api.root / "c.json")}), 201)["format"] == "json"
    parts = api.root / "parts"
    parts.mkdir()
    (parts / "part-0000.csv").write_text("a\n1\n")
    (parts / "_SUCCESS").write_text("")
    assert api.ok(api.post("/v4/importedDatasets", {"name": "p", "uri": str(parts)}), 201)["format"] == "csv"
    table = api.root / "table"
    (table / "_delta_log").mkdir(parents=True)
    assert api.ok(api.post("/v4/importedDatasets", {"name": "d", "uri": str(table)}), 201)["format"] == "delta"
    rel = api.ok(api.post("/v4/importedDatasets", {"name": "r", "uri": "data/orders.csv"}), 201)
    assert rel["uri"] == str(api.root / "orders.csv")  # relative to where the launcher runs


def test_an_unexpected_failure_is_a_500_in_the_error_shape_without_a_traceback(api):
    from fastapi.testclient import TestClient

    def boom():
        raise RuntimeError("secret internals")

    api.app.add_api_route("/v4/_boom_for_test", boom, methods=["GET"])
    client = TestClient(api.app, raise_server_exceptions=False)
    r = client.get("/v4/_boom_for_test", headers={"X-Request-Id": "rid-500"})
    e = error(r, 500)
    assert e["name"] == "InternalError" and "rid-500" in e["message"]
    assert "secret internals" not in r.text and "Traceback" not in r.text
