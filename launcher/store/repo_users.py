"""Users and their API tokens (rows only; hashing and checks live in launcher.auth)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from launcher.store.models import ApiToken, User, id_in_range, utcnow


class UserExists(ValueError):
    pass


def create_user(s: Session, name: str, *, password_hash: str | None = None,
                is_admin: bool = False, now: datetime | None = None) -> User:
    """A new user; UserExists when the name is taken (after a race the session is rolled back)."""
    if get_user_by_name(s, name) is not None:
        raise UserExists(f"a user named {name!r} already exists")
    user = User(name=name, password_hash=password_hash, is_admin=is_admin, created_at=now or utcnow())
    s.add(user)
    try:
        s.flush()
    except IntegrityError:
        s.rollback()
        raise UserExists(f"a user named {name!r} already exists") from None
    return user


def get_user(s: Session, user_id: int) -> User | None:
    return s.get(User, user_id) if id_in_range(user_id) else None


def get_user_by_name(s: Session, name: str) -> User | None:
    return s.scalar(select(User).where(User.name == name))


def list_users(s: Session) -> list[User]:
    return list(s.scalars(select(User).order_by(User.id)))


def add_token(s: Session, user_id: int, token_hash: str, *, description: str | None = None,
              expires_at: datetime | None = None, now: datetime | None = None) -> ApiToken:
    token = ApiToken(user_id=user_id, token_hash=token_hash, description=description,
                     created_at=now or utcnow(), expires_at=expires_at)
    s.add(token)
    s.flush()
    return token


def find_token(s: Session, token_hash: str) -> ApiToken | None:
    """The token with this hash and its user, in one query (every request asks)."""
    return s.scalar(select(ApiToken).options(joinedload(ApiToken.user)).where(ApiToken.token_hash == token_hash))


def list_tokens(s: Session, user_id: int) -> list[ApiToken]:
    return list(s.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)))


def get_token(s: Session, token_id: int) -> ApiToken | None:
    return s.get(ApiToken, token_id) if id_in_range(token_id) else None


def delete_token(s: Session, token: ApiToken) -> None:
    s.delete(token)
    s.flush()
