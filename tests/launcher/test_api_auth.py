"""The auth matrix: no / bad / expired token -> 401 everywhere; other users' objects -> 404;
viewer / editor / owner / admin rights; tokens made through the API."""

from __future__ import annotations

import re

import pytest

from api_harness import add_user, api, expire_token  # noqa: F401 (fixture)


def api_routes(api):
    """Every /v3 and /v4 operation of the OpenAPI document, path parameters filled with 1."""
    for path, ops in api.get("/openapi.json").json()["paths"].items():
        if re.match(r"^/v[34]/", path):
            for method in sorted(ops):
                yield method.upper(), re.sub(r"\{[^}]+\}", "1", path)


def exception(r, status):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["X-Request-Id"]
    return r.json()["exception"]


def test_every_endpoint_needs_a_valid_token(api):
    expired = add_user(api.sessions, "carol")
    expire_token(api.sessions, expired)
    routes = list(api_routes(api))
    routes.append(("GET", "/openapi.json"))  # the document too: only /health is open
    assert len(routes) >= 30
    for method, path in routes:
        body = {} if method in ("POST", "PUT") else None
        for headers, words in (({}, "needs an API token"),
                               ({"Authorization": "Bearer lt_not-a-real-token"}, "not valid"),
                               ({"Authorization": "Basic YWxpY2U6cGFzcw=="}, "needs an API token"),
                               ({"Authorization": f"Bearer {expired}"}, "expired")):
            r = api.client.request(method, path, json=body, headers=headers)
            e = exception(r, 401)
            assert e["name"] == "AuthenticationFailed" and words in e["message"], (method, path, e)
            assert r.headers["WWW-Authenticate"] == "Bearer"
    assert api.client.get("/health").status_code == 200


@pytest.fixture
def alices(api):
    """alice's imported and wrangled dataset, a finished job group of hers and its first job."""
    imp = api.imported(api.root / "orders.csv")
    ds = api.wrangled(imp, [{"op": "drop", "col": ["status"]}])
    body = {"wrangledDataset": {"id": ds}, "overrides": {"execution": "photon", "writesettings": [
        {"path": str(api.root / "a" / "o.csv"), "action": "overwrite", "format": "csv"}]}}
    answer = api.ok(api.post("/v4/jobGroups", body), 201)
    api.wait(answer["id"])
    return {"imp": imp, "ds": ds, "gid": answer["id"], "job": answer["jobs"]["data"][0]["id"], "body": body}


def test_other_users_objects_answer_404(api, alices):
    a = alices
    token_id = api.ok(api.get("/v4/apiAccessTokens"))["data"][0]["tokenId"]
    reads = [f"/v4/importedDatasets/{a['imp']}", f"/v4/wrangledDatasets/{a['ds']}",
             f"/v4/wrangledDatasets/{a['ds']}/recipe", f"/v4/wrangledDatasets/{a['ds']}/permissions",
             f"/v4/jobGroups/{a['gid']}", f"/v4/jobGroups/{a['gid']}/status", f"/v4/jobGroups/{a['gid']}/jobs",
             f"/v4/jobGroups/{a['gid']}/outputs", f"/v4/jobGroups/{a['gid']}/profile",
             f"/v3/jobGroups/{a['gid']}", f"/v4/jobs/{a['job']}", f"/v4/jobs/{a['job']}/log",
             f"/v4/apiAccessTokens/{token_id}"]
    for path in reads:
        assert exception(api.get(path, user="bob"), 404)["name"] == "NotFound", path
        assert api.get(path, user="alice").status_code in (200, 400), path  # 400: profile not made
    writes = [("POST", "/v4/jobGroups", a["body"]), ("POST", f"/v4/jobGroups/{a['gid']}/cancel", None),
              ("PUT", f"/v4/wrangledDatasets/{a['ds']}/recipe", {"steps": []}),
              ("POST", f"/v4/wrangledDatasets/{a['ds']}/permissions", {"user": "bob", "role": "editor"}),
              ("POST", "/v4/wrangledDatasets", {"name": "x", "importedDataset": {"id": a["imp"]}}),
              ("POST", "/v4/wrangledDatasets", {"name": "x", "wrangledDataset": {"id": a["ds"]}}),
              ("DELETE", f"/v4/apiAccessTokens/{token_id}", None)]
    for method, path, body in writes:
        r = api.client.request(method, path, json=body, headers=api.h("bob"))
        assert exception(r, 404)["name"] == "NotFound", (method, path)
    # Lists hold only one's own.
    assert api.ok(api.get("/v4/jobGroups", user="bob"))["count"] == 0
    assert api.ok(api.get("/v4/wrangledDatasets", user="bob"))["count"] == 0
    assert api.ok(api.get("/v4/importedDatasets", user="bob"))["count"] == 0
    # An admin sees and reads everything.
    for path in reads[:-1]:
        assert api.get(path, user="admin").status_code in (200, 400), path
    assert api.ok(api.get("/v4/jobGroups", user="admin"))["count"] == 1


def test_roles_viewer_editor_owner(api, alices):
    a = alices
    ds = a["ds"]
    assert api.ok(api.post(f"/v4/wrangledDatasets/{ds}/permissions", {"user": "bob", "role": "viewer"}), 201)["role"] == "viewer"
    # A viewer sees and runs, but changes nothing.
    assert api.ok(api.get(f"/v4/wrangledDatasets/{ds}", user="bob"))["role"] == "viewer"
    assert api.ok(api.get("/v4/wrangledDatasets", user="bob"))["count"] == 1
    rerun = api.ok(api.post("/v4/jobGroups", {"wrangledDataset": {"id": ds}}, user="bob"), 201)
    assert exception(api.put(f"/v4/wrangledDatasets/{ds}/recipe", {"steps": []}, user="bob"), 403)["name"] == "Forbidden"
    assert exception(api.post(f"/v4/wrangledDatasets/{ds}/permissions", {"user": "bob", "role": "editor"},
                              user="bob"), 403)["name"] == "Forbidden"
    # The viewer's job group is theirs; its dataset's owner does not see it in her list.
    assert api.ok(api.get(f"/v4/jobGroups/{rerun['id']}", user="bob"))["creator"]["id"] != \
        api.ok(api.get(f"/v4/jobGroups/{a['gid']}"))["creator"]["id"]
    # An editor changes the recipe, still may not share.
    api.ok(api.post(f"/v4/wrangledDatasets/{ds}/permissions", {"user": "bob", "role": "editor"}), 201)
    steps = [{"op": "drop", "col": ["status", "product_id"]}]
    assert api.ok(api.put(f"/v4/wrangledDatasets/{ds}/recipe", {"steps": steps}, user="bob"))["recipe"] == steps
    assert api.ok(api.get(f"/v4/wrangledDatasets/{ds}/recipe"))["steps"] == steps
    assert exception(api.post(f"/v4/wrangledDatasets/{ds}/permissions", {"user": "admin", "role": "viewer"},
                              user="bob"), 403)["name"] == "Forbidden"
    perms = api.ok(api.get(f"/v4/wrangledDatasets/{ds}/permissions", user="bob"))["data"]
    assert [(p["user"]["name"], p["role"]) for p in perms] == [("bob", "editor")]
    # Sharing needs a real user; the owner takes it back.
    assert "no user named" in exception(api.post(f"/v4/wrangledDatasets/{ds}/permissions",
                                                 {"user": "nobody", "role": "viewer"}), 400)["message"]
    assert exception(api.post(f"/v4/wrangledDatasets/{ds}/permissions", {"user": "bob", "role": "owner"}),
                     400)["message"].startswith("role:")
    assert api.client.delete(f"/v4/wrangledDatasets/{ds}/permissions/bob", headers=api.h()).status_code == 204
    assert exception(api.get(f"/v4/wrangledDatasets/{ds}", user="bob"), 404)["name"] == "NotFound"
    api.wait(rerun["id"], user="bob")


def test_tokens_through_the_api(api):
    made = api.ok(api.post("/v4/apiAccessTokens", {"lifetimeSeconds": 3600, "description": "ci"}), 201)
    info = made["tokenInfo"]
    assert set(info) >= {"tokenId", "description", "expiredAt", "createdAt", "lastUsed"}
    assert info["description"] == "ci" and info["expiredAt"] > info["createdAt"]
    secret = made["tokenValue"]
    assert api.client.get("/v4/jobGroups", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    listed = api.ok(api.get("/v4/apiAccessTokens"))
    assert secret not in str(listed) and info["tokenId"] in [t["tokenId"] for t in listed["data"]]
    forever = api.ok(api.post("/v4/apiAccessTokens", {}), 201)["tokenInfo"]
    assert forever["expiredAt"] is None
    assert api.client.delete(f"/v4/apiAccessTokens/{info['tokenId']}", headers=api.h()).status_code == 204
    r = api.client.get("/v4/jobGroups", headers={"Authorization": f"Bearer {secret}"})
    assert exception(r, 401)["name"] == "AuthenticationFailed"
