"""The store's tables (SQLAlchemy 2 declarative). Alembic migration 0001 creates exactly these.

Statuses, roles, job types and input kinds are plain strings guarded by CHECK constraints
(portable between SQLite and PostgreSQL, and a new value is a one-line migration). Every
timestamp is UTC: stored timezone-aware on PostgreSQL, as naive UTC on SQLite, and always
handed back timezone-aware. ``updated_at`` has no ON UPDATE default: the repositories set it
from their (injectable) clock, so write through them.
"""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# Ids are INTEGER columns: 32-bit on PostgreSQL. A larger number (a client's typo, 2**70) can
# name no row, and handed to the database it raises (SQLite OverflowError, PostgreSQL "out of
# range") instead of finding nothing: lookups answer None for it without asking.
MAX_ID = 2**31 - 1


def id_in_range(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def row_bound(value: int) -> int:
    """An OFFSET / LIMIT the database accepts: no table holds more than MAX_ID rows."""
    return min(max(value, 0), MAX_ID)


class UTCDateTime(TypeDecorator):
    """A timestamp that is always UTC and always timezone-aware in Python."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass a timezone-aware UTC time")
        value = value.astimezone(timezone.utc)
        # SQLite has no time zones: keep naive UTC so comparisons in SQL stay correct.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Status(str, enum.Enum):
    CREATED = "Created"
    PENDING = "Pending"
    IN_PROGRESS = "InProgress"
    COMPLETE = "Complete"
    FAILED = "Failed"
    CANCELED = "Canceled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATUSES

    def __str__(self) -> str:  # so f"{status}" is the wire value
        return self.value


TERMINAL_STATUSES = frozenset({Status.COMPLETE, Status.FAILED, Status.CANCELED})
STATUSES = tuple(s.value for s in Status)
ROLES = ("viewer", "editor")
JOB_TYPES = ("wrangle", "filewriter", "profile")
INPUT_KINDS = ("imported", "wrangled")
RANFROM = ("cli", "ui", "api")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# SQLite reuses the largest rowid after a delete without AUTOINCREMENT; ids name spec and result
# files, so they must never come back.
_AUTOINC = {"sqlite_autoincrement": True}

# Named constraints so migrations can refer to them on every backend.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"
    __table_args__ = (_AUTOINC,)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(500))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    tokens: Mapped[list["ApiToken"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True)

    def __repr__(self) -> str:  # never the password hash
        return f"User(id={self.id!r}, name={self.name!r}, is_admin={self.is_admin!r})"


class ApiToken(Base):
    __tablename__ = "api_tokens"
    __table_args__ = (_AUTOINC,)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the secret
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")

    def __repr__(self) -> str:  # never the hash
        return f"ApiToken(id={self.id!r}, user_id={self.user_id!r}, expires_at={self.expires_at!r})"


class ImportedDataset(Base):
    __tablename__ = "imported_datasets"
    __table_args__ = (_AUTOINC,)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    uri: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(20))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner: Mapped[User] = relationship()


class WrangledDataset(Base):
    __tablename__ = "wrangled_datasets"
    __table_args__ = (CheckConstraint(_in("input_kind", INPUT_KINDS), name="input_kind"), _AUTOINC)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    # Not a foreign key: it points at imported_datasets or wrangled_datasets by input_kind.
    input_kind: Mapped[str] = mapped_column(String(20))
    input_id: Mapped[int] = mapped_column(Integer)
    recipe: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The normalised overrides of the last run (execution, profiler, writesettings).
    last_run: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner: Mapped[User] = relationship()
    permissions: Mapped[list["Permission"]] = relationship(
        back_populates="wrangled_dataset", cascade="all, delete-orphan", passive_deletes=True)


class Permission(Base):
    __tablename__ = "permissions"
    __table_args__ = (
        UniqueConstraint("wrangled_dataset_id", "user_id"),
        CheckConstraint(_in("role", ROLES), name="role"),
        _AUTOINC,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wrangled_dataset_id: Mapped[int] = mapped_column(
        ForeignKey("wrangled_datasets.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(10))

    wrangled_dataset: Mapped[WrangledDataset] = relationship(back_populates="permissions")
    user: Mapped[User] = relationship()


class JobGroup(Base):
    __tablename__ = "job_groups"
    __table_args__ = (
        UniqueConstraint("creator_id", "idempotency_key"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        Index(None, "status"),
        Index(None, "creator_id", "id"),
        _AUTOINC,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    creator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    wrangled_dataset_id: Mapped[int] = mapped_column(
        ForeignKey("wrangled_datasets.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=Status.CREATED.value)
    ranfrom: Mapped[str | None] = mapped_column(String(10))
    execution: Mapped[str] = mapped_column(String(40))
    profiling_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    session_id: Mapped[str] = mapped_column(String(36))  # uuid4 text
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    spec_path: Mapped[str | None] = mapped_column(Text)
    run_as: Mapped[str | None] = mapped_column(String(200))
    tag: Mapped[str | None] = mapped_column(String(200), unique=True)  # set before submit
    handle: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # environments.base.Handle as dict
    error_message: Mapped[str | None] = mapped_column(Text)
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    creator: Mapped[User] = relationship()
    wrangled_dataset: Mapped[WrangledDataset] = relationship()
    jobs: Mapped[list["Job"]] = relationship(
        back_populates="job_group", order_by="Job.id", cascade="all, delete-orphan",
        passive_deletes=True)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint(_in("job_type", JOB_TYPES), name="job_type"),
        CheckConstraint("percent_complete BETWEEN 0 AND 100", name="percent_complete"),
        _AUTOINC,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_group_id: Mapped[int] = mapped_column(
        ForeignKey("job_groups.id", ondelete="CASCADE"), index=True)
    job_type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16), default=Status.CREATED.value)
    percent_complete: Mapped[int] = mapped_column(Integer, default=0)
    error_message: Mapped[str | None] = mapped_column(Text)
    write_setting: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # filewriter: normalised
    output_path: Mapped[str | None] = mapped_column(Text)  # concrete path written
    rows: Mapped[int | None] = mapped_column(BigInteger)
    files: Mapped[list[Any] | None] = mapped_column(JSON)
    delta_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    job_group: Mapped[JobGroup] = relationship(back_populates="jobs")


class JobEvent(Base):
    """Every status change of a job group (job_id null) or of one of its jobs."""

    __tablename__ = "job_events"
    __table_args__ = (CheckConstraint(_in("status", STATUSES), name="status"), _AUTOINC)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_group_id: Mapped[int] = mapped_column(
        ForeignKey("job_groups.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)
