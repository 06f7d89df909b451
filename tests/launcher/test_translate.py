"""The request translator: golden files (request + catalog -> spec or error) and its helpers.

Each ``golden/translate/<case>.case.json`` holds a request body and what else the translator is
given (last run, storage roots, ids); ``<case>.expected.json`` the spec (and the job types and
last_run the API saves) or the error the API answers. ``UPDATE_GOLDEN=1`` rewrites the expected
files; review the diff before committing it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from launcher import translate
from launcher.api.errors import ApiError, BadRequest, PathNotAllowed, bad_request_from
from launcher.api.schemas import JobGroupCreate, accepted_fields
from spark_jobs.spec import ImportedDataset, WrangledDataset, parse_spec

GOLDEN = Path(__file__).parent / "golden" / "translate"
CASES = sorted(p.name[: -len(".case.json")] for p in GOLDEN.glob("*.case.json"))


def load_catalog() -> translate.DictCatalog:
    data = json.loads((GOLDEN / "_catalog.json").read_text())
    return translate.DictCatalog(
        imported_by_id={d["id"]: ImportedDataset.model_validate(d) for d in data["imported"]},
        wrangled_by_id={d["id"]: WrangledDataset.model_validate(d) for d in data["wrangled"]},
    )


def run_case(case: dict) -> dict:
    """What the API does with a body, minus the store: parse, plan, build the spec."""
    try:
        try:
            request = JobGroupCreate.model_validate(case["request"])
        except ValidationError as e:
            raise bad_request_from(e.errors(), lambda loc: accepted_fields(JobGroupCreate, loc)) from None
        problems = case.get("environmentProblems", {})
        plan = translate.plan_run(
            request, load_catalog(), last_run=case.get("lastRun"), roots=case["roots"],
            base_dir=case.get("baseDir", "/golden/cwd"), environment_problem=problems.get)
        spec = translate.build_spec(plan, case["jobGroupId"], case["jobIds"],
                                    result_uri=f"/golden/results/{case['jobGroupId']}.json", run_as="admin")
    except ApiError as e:
        return {"error": {"status": e.status, **e.body()["exception"]}}
    # The spec must survive its own JSON round trip: it is what an environment reads.
    assert parse_spec(spec.to_json()) == spec
    return {
        "jobTypes": plan.job_types(),
        "execution": plan.execution,
        "ranfrom": plan.ranfrom,
        "lastRun": plan.last_run(),
        "jobGraph": translate.job_graph(case["jobIds"]),
        "spec": json.loads(spec.to_json()),
    }


@pytest.mark.parametrize("name", CASES)
def test_golden(name):
    case = json.loads((GOLDEN / f"{name}.case.json").read_text())
    got = run_case(case)
    expected_file = GOLDEN / f"{name}.expected.json"
    if os.environ.get("UPDATE_GOLDEN"):
        expected_file.write_text(json.dumps(got, indent=2, ensure_ascii=False) + "\n")
    assert got == json.loads(expected_file.read_text())


def test_every_error_case_is_a_client_error_naming_a_field():
    for name in CASES:
        if name.startswith("err_"):
            got = run_case(json.loads((GOLDEN / f"{name}.case.json").read_text()))
            assert got["error"]["status"] in (400, 403), name
            assert got["error"]["details"], name
            for d in got["error"]["details"]:
                assert d["field"] and d["field"] in got["error"]["message"], (name, d)


@pytest.mark.parametrize("path, gid, expected", [
    ("/out/orders.csv", 12, "/out/orders_12.csv"),
    ("/out/folder", 12, "/out/folder_12"),
    ("/out/folder/", 12, "/out/folder_12"),
    ("/out/orders.csv.gz", 3, "/out/orders_3.csv.gz"),
    ("/out/orders.json.bz2", 3, "/out/orders_3.json.bz2"),
    ("/out/.hidden", 3, "/out/.hidden_3"),
    ("/out/v1.2/orders", 3, "/out/v1.2/orders_3"),
    ("s3a://bucket/out/orders.avro", 7, "s3a://bucket/out/orders_7.avro"),
    ("dbfs:/out/table", 7, "dbfs:/out/table_7"),
    ("file:///tmp/x/o.csv", 7, "file:///tmp/x/o_7.csv"),
])
def test_create_path(path, gid, expected):
    assert translate.create_path(path, gid) == expected


@pytest.mark.parametrize("path, expected", [
    ("/a/b/../c", "/a/c"),
    ("rel/x.csv", "/base/rel/x.csv"),
    ("file:/a/./b", "file:///a/b"),
    ("file:///a/b/../c", "file:///a/c"),
    ("hdfs://nn:8020/a/../b/c", "hdfs://nn:8020/b/c"),
    ("s3a://bucket/a//b/", "s3a://bucket/a/b"),
    ("dbfs:/x/../y", "dbfs:/y"),
    ("abfss://c@acct.dfs.core.windows.net/a/b", "abfss://c@acct.dfs.core.windows.net/a/b"),
])
def test_normalize_path(path, expected):
    assert translate.normalize_path(path, "/base") == expected


def test_file_uri_with_a_host_is_refused():
    with pytest.raises(BadRequest, match="names no host"):
        translate.normalize_path("file://otherhost/x", "/")


@pytest.mark.parametrize("path, root, inside", [
    ("/data/x", "/data", True),
    ("/data", "/data", True),
    ("/database/x", "/data", False),
    ("/x", "/", True),
    ("hdfs://nn/data/x", "hdfs://nn/data", True),
    ("hdfs://nn/data/x", "hdfs://other/data", False),
    ("s3a://b/data/x", "hdfs://b/data", False),
    ("file:///data/x", "/data", True),
    ("/data/x", "file:/data/", True),
])
def test_is_within(path, root, inside):
    assert translate.is_within(translate.normalize_path(path, "/"),
                               translate.normalize_path(root, "/")) is inside


def test_a_symlink_that_leads_outside_counts_as_outside(tmp_path):
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "inner").mkdir()
    (root / "alias").symlink_to(root / "inner", target_is_directory=True)
    translate.confine(str(root / "alias" / "new.csv"), [str(root)], "path")  # stays inside
    with pytest.raises(PathNotAllowed) as e:
        translate.confine(str(root / "escape" / "new.csv"), [str(root)], "overrides.writesettings[0].path")
    assert e.value.status == 403
    assert "overrides.writesettings[0].path" in e.value.message
    assert e.value.details[0]["resolved"] == str(outside / "new.csv")


def test_a_root_given_through_a_symlink_still_grants_its_target(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    translate.confine(str(real / "o.csv"), [str(tmp_path / "link")], "path")


def test_dependencies_come_first_and_each_once():
    imp = {1: ImportedDataset(id=1, uri="/d/a.csv", format="csv")}
    wr = {
        2: WrangledDataset(id=2, input={"kind": "imported", "id": 1}),
        3: WrangledDataset(id=3, input={"kind": "wrangled", "id": 2}),
        4: WrangledDataset(id=4, input={"kind": "wrangled", "id": 3}),
    }
    order = translate.resolve_datasets(4, translate.DictCatalog(imp, wr))
    assert [(d.kind, d.id) for d in order] == [("imported", 1), ("wrangled", 2), ("wrangled", 3), ("wrangled", 4)]


def test_build_spec_needs_one_id_per_job():
    case = json.loads((GOLDEN / "delta_create.case.json").read_text())
    plan = translate.plan_run(JobGroupCreate.model_validate(case["request"]), load_catalog(),
                              last_run=None, roots=case["roots"], base_dir="/")
    with pytest.raises(ValueError, match="2 job ids needed"):
        translate.build_spec(plan, 1, [1], result_uri="/r.json")


def test_job_graph():
    assert translate.job_graph([5, 6]) == {"vertices": [5, 6], "edges": [{"source": 5, "target": 6}]}
    assert translate.job_graph([5]) == {"vertices": [5], "edges": []}
