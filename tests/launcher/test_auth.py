"""Passwords, tokens and access rules against the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from launcher import auth
from launcher.api.errors import BadRequest, Forbidden, NotFound, Unauthorized
from launcher.store import repo_datasets, repo_jobs, repo_users
from launcher.store.models import ApiToken
from launcher.store.repo_jobs import NewJob

T0 = datetime(2030, 1, 1, tzinfo=timezone.utc)


# -- passwords (pure) -----------------------------------------------------------------------------

def test_password_hash_verifies_and_hides_the_password():
    stored = auth.hash_password("correct horse")
    assert stored.startswith("scrypt$16384$8$1$")
    assert "correct horse" not in stored
    assert auth.verify_password("correct horse", stored)
    assert not auth.verify_password("correct hors", stored)
    assert auth.hash_password("correct horse") != stored  # salted
    assert not auth.verify_password("x", None)
    assert not auth.verify_password("x", "md5$abc")
    assert not auth.verify_password("x", "garbage")
    with pytest.raises(ValueError, match="empty"):
        auth.hash_password("")


def test_bearer_header_parsing():
    assert auth.bearer_secret("Bearer abc") == "abc"
    assert auth.bearer_secret("bearer  abc ") == "abc"
    assert auth.bearer_secret("Basic abc") is None
    assert auth.bearer_secret("Bearer") is None
    assert auth.bearer_secret("Bearer a b") is None
    assert auth.bearer_secret(None) is None
    assert auth.bearer_secret("") is None


def test_token_secret_shape():
    a, b = auth.new_token_secret(), auth.new_token_secret()
    assert a != b and a.startswith("lt_") and len(a) >= 40
    assert auth.token_hash(a) == hashlib.sha256(a.encode()).hexdigest()


# -- tokens in the store --------------------------------------------------------------------------

def test_token_is_stored_only_as_its_hash(session, engine):
    ann = repo_users.create_user(session, "ann")
    issued = auth.create_token(session, ann, description="ci", now=T0)
    session.commit()
    assert issued.secret not in repr(issued)
    with engine.connect() as conn:
        rows = [tuple(str(v) for v in r) for r in conn.execute(text("SELECT * FROM api_tokens"))]
    assert len(rows) == 1
    assert not any(issued.secret in v for v in rows[0])
    assert auth.token_hash(issued.secret) in rows[0]
    assert (issued.token.description, issued.token.expires_at) == ("ci", None)


def test_authenticate_finds_the_user_and_records_last_use(session):
    ann = repo_users.create_user(session, "ann")
    issued = auth.create_token(session, ann, lifetime_seconds=3600, now=T0)
    session.commit()
    assert issued.token.expires_at == T0 + timedelta(hours=1)
    assert auth.authenticate(session, issued.secret, now=T0 + timedelta(seconds=5)).id == ann.id
    session.commit()
    session.expire_all()
    assert session.get(ApiToken, issued.token.id).last_used_at == T0 + timedelta(seconds=5)
    # within the resolution: no new write; after it: updated
    auth.authenticate(session, issued.secret, now=T0 + timedelta(seconds=30))
    session.commit()
    session.expire_all()
    assert session.get(ApiToken, issued.token.id).last_used_at == T0 + timedelta(seconds=5)
    auth.authenticate(session, issued.secret, now=T0 + timedelta(seconds=70))
    session.commit()
    session.expire_all()
    assert session.get(ApiToken, issued.token.id).last_used_at == T0 + timedelta(seconds=70)


def test_missing_unknown_and_expired_tokens_are_401(session):
    ann = repo_users.create_user(session, "ann")
    issued = auth.create_token(session, ann, lifetime_seconds=60, now=T0)
    session.commit()
    with pytest.raises(Unauthorized, match="needs an API token"):
        auth.authenticate(session, None)
    with pytest.raises(Unauthorized, match="not valid"):
        auth.authenticate(session, issued.secret + "x", now=T0)
    with pytest.raises(Unauthorized, match="expired"):
        auth.authenticate(session, issued.secret, now=T0 + timedelta(seconds=60))
    assert auth.authenticate(session, issued.secret, now=T0 + timedelta(seconds=59)).name == "ann"


@pytest.mark.parametrize("bad", [0, -5, 1.5, "10", True])
def test_token_lifetime_must_be_positive_seconds(session, bad):
    ann = repo_users.create_user(session, "ann")
    with pytest.raises(BadRequest, match="lifetimeSeconds must be a positive whole number"):
        auth.create_token(session, ann, lifetime_seconds=bad)


@pytest.mark.parametrize("huge", [auth.MAX_LIFETIME_SECONDS + 1, 10**12, 2**70])
def test_token_lifetime_has_a_maximum(session, huge):
    # Far beyond it the date arithmetic overflows: a 400 naming the field, never a crash.
    ann = repo_users.create_user(session, "ann")
    with pytest.raises(BadRequest, match="lifetimeSeconds must be at most"):
        auth.create_token(session, ann, lifetime_seconds=huge)
    assert auth.create_token(session, ann, lifetime_seconds=auth.MAX_LIFETIME_SECONDS).token.expires_at


def test_password_login(session):
    repo_users.create_user(session, "ann", password_hash=auth.hash_password("pw1"))
    repo_users.create_user(session, "nopw")
    assert auth.authenticate_password(session, "ann", "pw1").name == "ann"
    for name, pw in [("ann", "pw2"), ("bob", "pw1"), ("nopw", "")]:
        with pytest.raises(Unauthorized, match="unknown user or wrong password"):
            auth.authenticate_password(session, name, pw)


# -- access ---------------------------------------------------------------------------------------

def test_dataset_roles(session):
    owner = repo_users.create_user(session, "owner")
    editor = repo_users.create_user(session, "editor")
    viewer = repo_users.create_user(session, "viewer")
    stranger = repo_users.create_user(session, "stranger")
    admin = repo_users.create_user(session, "admin", is_admin=True)
    imp = repo_datasets.create_imported(session, owner.id, "o", "/d/o.csv", "csv")
    ds = repo_datasets.create_wrangled(session, owner.id, "w", "imported", imp.id)
    repo_datasets.grant(session, ds.id, editor.id, "editor")
    repo_datasets.grant(session, ds.id, viewer.id, "viewer")
    session.commit()

    roles = {u.name: auth.wrangled_role(session, u, ds) for u in (owner, editor, viewer, stranger, admin)}
    assert roles == {"owner": "owner", "editor": "editor", "viewer": "viewer", "stranger": None,
                     "admin": "owner"}
    # viewers may run (need viewer), editors change recipes, strangers see nothing
    for user in (owner, editor, viewer, admin):
        assert auth.require_wrangled(session, user, ds.id, "viewer").id == ds.id
    for user in (owner, editor, admin):
        assert auth.require_wrangled(session, user, ds.id, "editor").id == ds.id
    with pytest.raises(Forbidden, match="you are a viewer .* needs editor"):
        auth.require_wrangled(session, viewer, ds.id, "editor")
    with pytest.raises(Forbidden, match="needs owner"):
        auth.require_wrangled(session, editor, ds.id, "owner")
    with pytest.raises(NotFound, match=f"wrangled dataset {ds.id} not found"):
        auth.require_wrangled(session, stranger, ds.id)
    with pytest.raises(NotFound, match="wrangled dataset 9999 not found"):
        auth.require_wrangled(session, owner, 9999)
    # imported datasets: owner and admins only
    assert auth.require_imported(session, owner, imp.id).id == imp.id
    assert auth.require_imported(session, admin, imp.id).id == imp.id
    with pytest.raises(NotFound, match=f"imported dataset {imp.id} not found"):
        auth.require_imported(session, editor, imp.id)


def test_job_groups_and_jobs_are_their_creators(session):
    ann = repo_users.create_user(session, "ann")
    bob = repo_users.create_user(session, "bob")
    admin = repo_users.create_user(session, "root", is_admin=True)
    imp = repo_datasets.create_imported(session, ann.id, "o", "/d/o.csv", "csv")
    ds = repo_datasets.create_wrangled(session, ann.id, "w", "imported", imp.id)
    group = repo_jobs.create_job_group(session, creator_id=ann.id, wrangled_dataset_id=ds.id,
                                       execution="photon", jobs=[NewJob("wrangle")])
    session.commit()
    job_id = group.jobs[0].id
    assert auth.require_job_group(session, ann, group.id).id == group.id
    assert auth.require_job_group(session, admin, group.id, with_jobs=True).jobs[0].id == job_id
    assert auth.require_job(session, ann, job_id).id == job_id
    with pytest.raises(NotFound, match=f"job group {group.id} not found"):
        auth.require_job_group(session, bob, group.id)
    with pytest.raises(NotFound, match=f"job {job_id} not found"):
        auth.require_job(session, bob, job_id)
    with pytest.raises(NotFound):
        auth.require_job(session, ann, job_id + 100)


def test_deleting_a_user_removes_their_tokens(session):
    ann = repo_users.create_user(session, "ann")
    issued = auth.create_token(session, ann)
    session.commit()
    session.delete(ann)
    session.commit()
    assert session.scalar(select(ApiToken)) is None
    with pytest.raises(Unauthorized):
        auth.authenticate(session, issued.secret)
