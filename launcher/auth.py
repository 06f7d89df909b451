"""Users, passwords, API tokens and who may touch which object.

Tokens: a random secret handed out once; the store keeps only its SHA-256 (hex), so a leaked
database gives no usable token. A token is found by its hash (unique index) and the hashes are
compared again with ``hmac.compare_digest``. Passwords use scrypt with a per-user salt.

Access: datasets belong to their creator; a wrangled dataset may be shared as ``viewer`` (may run
jobs) or ``editor`` (may also change the recipe). Admins act as owners of everything. Anything a
user may not see answers 404, never 403, so ids of other users' objects leak nothing; 403 is
only for "you may see this but not do that" (a viewer changing a recipe).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, bindparam, or_, select, update
from sqlalchemy.orm import Session

from launcher.api.errors import BadRequest, Forbidden, NotFound, Unauthorized
from launcher.store import repo_datasets, repo_jobs, repo_users
from launcher.store.models import ApiToken, ImportedDataset, JobGroup, User, WrangledDataset, id_in_range, utcnow

TOKEN_PREFIX = "lt_"  # makes a launcher token recognisable in a secret scanner
TOKEN_BYTES = 32
# last_used_at is written at most this often per token: one write per request would make
# every GET a write transaction.
LAST_USED_RESOLUTION = timedelta(seconds=60)
# The pages' login cookie (launcher/pages): an HttpOnly, SameSite=Strict copy of a token.
PAGE_COOKIE = "launcher_token"
# A longer lifetime is "never expires" in all but name (leave it out for that), and a number
# far larger overflows the date arithmetic instead of being refused.
MAX_LIFETIME_SECONDS = 100 * 365 * 24 * 3600

ROLE_RANK = {"viewer": 1, "editor": 2, "owner": 3}

# scrypt: n=2**14, r=8 costs ~16 MiB and some tens of ms: slow for guessing, fine for a login.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


# -- passwords ----------------------------------------------------------------------------------

def hash_password(password: str) -> str:
    if not password:
        raise ValueError("the password is empty")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)
    return "$".join(["scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P),
                     _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or not password:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        got = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


# -- tokens -------------------------------------------------------------------------------------

def new_token_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    secret: str  # shown once; never stored, never logged
    token: ApiToken

    def __repr__(self) -> str:
        return f"IssuedToken(token={self.token!r}, secret=<hidden>)"


def create_token(s: Session, user: User, *, lifetime_seconds: int | None = None,
                 description: str | None = None, now: datetime | None = None) -> IssuedToken:
    """A new token for ``user``; no lifetime means it never expires."""
    now = now or utcnow()
    if lifetime_seconds is not None:
        if isinstance(lifetime_seconds, bool) or not isinstance(lifetime_seconds, int) or lifetime_seconds <= 0:
            raise BadRequest(f"lifetimeSeconds must be a positive whole number of seconds, "
                             f"got {lifetime_seconds!r}", [{"field": "lifetimeSeconds"}])
        if lifetime_seconds > MAX_LIFETIME_SECONDS:
            raise BadRequest(f"lifetimeSeconds must be at most {MAX_LIFETIME_SECONDS} (100 years), "
                             f"got {lifetime_seconds}; leave it out for a token that does not expire",
                             [{"field": "lifetimeSeconds", "max": MAX_LIFETIME_SECONDS}])
    expires_at = now + timedelta(seconds=lifetime_seconds) if lifetime_seconds else None
    secret = new_token_secret()
    token = repo_users.add_token(s, user.id, token_hash(secret), description=description,
                                 expires_at=expires_at, now=now)
    return IssuedToken(secret, token)


def bearer_secret(authorization: str | None) -> str | None:
    """The secret of an ``Authorization: Bearer <secret>`` header, None when absent or malformed."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or " " in value:
        return None
    return value


def authenticate(s: Session, secret: str | None, *, now: datetime | None = None) -> User:
    """The user a token secret belongs to, or Unauthorized (missing, unknown or expired).

    Records last_used_at (at most once per LAST_USED_RESOLUTION); the caller commits.
    """
    user, token_id = find_user(s, secret, now=now)
    if token_id is not None:
        record_use(s, token_id, now=now)
    return user


def find_user(s: Session, secret: str | None, *, now: datetime | None = None) -> tuple[User, int | None]:
    """``authenticate`` without the write: the user, and the token's id when its last_used_at
    is due to be recorded (``record_use``), else None. Reads only, so the API can check a
    token on its event loop and hand the rare write to a thread."""
    digest, now = _digest_of(secret), now or utcnow()
    token = repo_users.find_token(s, digest)
    found = None if token is None else (token.token_hash, token.expires_at, token.last_used_at)
    due = _check_token(found, digest, now)
    return token.user, (token.id if due else None)


def _digest_of(secret: str | None) -> str:
    if not secret:
        raise Unauthorized("this endpoint needs an API token: send 'Authorization: Bearer <token>' "
                           "(create one with `launcher tokens create NAME`)")
    return token_hash(secret)


def _check_token(found: tuple | None, digest: str, now: datetime) -> bool:
    """The rules for a stored token ``(hash, expires_at, last_used_at)`` looked up by ``digest``:
    Unauthorized when unknown or expired; else whether its last use is due to be recorded."""
    if found is None or not hmac.compare_digest(found[0], digest):
        raise Unauthorized("the API token is not valid")
    _, expires_at, last_used_at = found
    if expires_at is not None and expires_at <= now:
        raise Unauthorized("the API token has expired; create a new one")
    return last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION


def record_use(s: Session, token_id: int, *, now: datetime | None = None) -> None:
    now = now or utcnow()
    # Conditional so that concurrent requests write it once.
    s.execute(update(ApiToken).where(
        ApiToken.id == token_id,
        or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - LAST_USED_RESOLUTION),
    ).values(last_used_at=now).execution_options(synchronize_session=False))


def authenticate_password(s: Session, name: str, password: str) -> User:
    user = repo_users.get_user_by_name(s, name)
    # Hash even for an unknown user so the answer time does not say which names exist.
    ok = verify_password(password, user.password_hash if user else _DUMMY_HASH)
    if user is None or not ok:
        raise Unauthorized("unknown user or wrong password")
    return user


_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43


# -- access -------------------------------------------------------------------------------------

def wrangled_role(s: Session, user: User, ds: WrangledDataset) -> str | None:
    """'owner' | 'editor' | 'viewer' | None (admins count as owners)."""
    if user.is_admin or ds.owner_id == user.id:
        return "owner"
    return repo_datasets.shared_role(s, ds.id, user.id)


def require_wrangled(s: Session, user: User, dataset_id: int, need: str = "viewer") -> WrangledDataset:
    """The wrangled dataset if ``user`` holds at least role ``need``; 404 when they may not see
    it at all, 403 when they see it with a lower role."""
    if need not in ROLE_RANK:
        raise ValueError(f"need must be one of {', '.join(ROLE_RANK)}")
    ds = repo_datasets.get_wrangled(s, dataset_id)
    role = wrangled_role(s, user, ds) if ds is not None else None
    if role is None:
        raise NotFound(f"wrangled dataset {dataset_id} not found")
    if ROLE_RANK[role] < ROLE_RANK[need]:
        raise Forbidden(f"you are a {role} of wrangled dataset {dataset_id}; "
                        f"this needs {need} (ask its owner to share it with role editor)")
    return ds


def require_imported(s: Session, user: User, dataset_id: int) -> ImportedDataset:
    """An imported dataset its owner (or an admin) asks for; 404 for everyone else."""
    ds = repo_datasets.get_imported(s, dataset_id)
    if ds is None or not (user.is_admin or ds.owner_id == user.id):
        raise NotFound(f"imported dataset {dataset_id} not found")
    return ds


def require_job_group(s: Session, user: User, group_id: int, *, with_jobs: bool = False) -> JobGroup:
    """A job group its creator (or an admin) asks for; 404 for everyone else."""
    group = repo_jobs.get_job_group(s, group_id, with_jobs=with_jobs)
    if group is None or not (user.is_admin or group.creator_id == user.id):
        raise NotFound(f"job group {group_id} not found")
    return group


# GET .../status is what clients poll, many at once while their jobs run: its whole check (the
# token, its user, the group's owner) is one prepared statement instead of two ORM queries,
# which made a poll cost a third of what it did.
_STATUS_CHECK = (
    select(ApiToken.id, ApiToken.token_hash, ApiToken.expires_at, ApiToken.last_used_at,
           User.id, User.is_admin, JobGroup.creator_id, JobGroup.status)
    .join(User, User.id == ApiToken.user_id)
    .outerjoin(JobGroup, JobGroup.id == bindparam("group_id"))
    .where(ApiToken.token_hash == bindparam("digest"))
)


def job_group_status(engine: Engine, secret: str | None, group_id: int, *,
                     now: datetime | None = None) -> tuple[str, int | None]:
    """A job group's status for its creator (or an admin) with this token, and the token's id
    when its use is due to be recorded (``record_use``). Unauthorized and NotFound as the other
    routes answer them."""
    digest, now = _digest_of(secret), now or utcnow()
    gid = group_id if id_in_range(group_id) else 0
    with engine.connect() as conn:
        row = conn.execute(_STATUS_CHECK, {"group_id": gid, "digest": digest}).first()
    due = _check_token(None if row is None else (row[1], row[2], row[3]), digest, now)
    token_id, _, _, _, user_id, is_admin, creator_id, status = row
    if status is None or not (is_admin or creator_id == user_id):
        raise NotFound(f"job group {group_id} not found")
    return status, (token_id if due else None)


def require_job(s: Session, user: User, job_id: int):
    job = repo_jobs.get_job(s, job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found")
    group = repo_jobs.get_job_group(s, job.job_group_id)
    if group is None or not (user.is_admin or group.creator_id == user.id):
        raise NotFound(f"job {job_id} not found")
    return job
