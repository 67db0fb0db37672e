"""SQLAlchemy engines and transactions that behave the same on SQLite and PostgreSQL.

SQLite is the embedded default (a file per service per site) and PostgreSQL the production
store. On SQLite we take over BEGIN from the driver: writes start with ``BEGIN IMMEDIATE``
so two writers queue on the busy timeout instead of failing on a lock upgrade, and
SAVEPOINTs work (the consumer isolates each handler in one).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine, make_url

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_WRITE = "peerlink_write"


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware in, timezone-aware (UTC) out, on SQLite too, which keeps no zone."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: give a timezone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_metadata() -> sa.MetaData:
    return sa.MetaData(naming_convention=NAMING_CONVENTION)


def normalize_url(url: str | URL) -> URL:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 here."""
    parsed = make_url(str(url).replace("postgres://", "postgresql://", 1))
    if parsed.drivername in ("postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def is_sqlite(engine_or_conn: Engine | Connection) -> bool:
    return engine_or_conn.dialect.name == "sqlite"


def create_engine(url: str | URL, **kwargs: Any) -> Engine:
    # Errors would otherwise quote their bound parameters (names, emails) into logs and the
    # headers of parked messages.
    kwargs.setdefault("hide_parameters", True)
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    # A server that does not answer at all (not even a refusal) must not hold a request or a
    # worker forever: give up connecting after a while, as after a refusal.
    kwargs["connect_args"] = {"connect_timeout": 10, **kwargs.get("connect_args", {})}
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
    return sa.create_engine(parsed, **kwargs)


def _sqlite_engine(url: URL, **kwargs: Any) -> Engine:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own implicit transactions would defeat BEGIN IMMEDIATE and SAVEPOINT.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")

    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: commits on success, rolls back on any exception."""
    with engine.connect().execution_options(**{_WRITE: True}) as conn, conn.begin():
        yield conn


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn


def write_connection(engine: Engine) -> Connection:
    """A connection whose transactions take the write lock up front on SQLite."""
    return engine.connect().execution_options(**{_WRITE: True})


# SQLSTATE classes and codes that mean "the database, not this SQL": the connection went
# (08), the server is shutting down or starting (57P01-57P03), it ran out of something (53),
# or this transaction lost a race it may win next time (40001, 40P01, 55P03).
_TRANSIENT_CLASSES = ("08", "53")
_TRANSIENT_CODES = ("57P01", "57P02", "57P03", "40001", "40P01", "55P03")
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "disk i/o error", "unable to open")


def is_connection_failure(exc: BaseException) -> bool:
    """True when the database itself is away or busy (hold the work, retry later); False when
    this SQL failed (a missing table, bad data, a timeout), which is the work's own fault."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa.exc.DisconnectionError | sa.exc.TimeoutError):
        return True  # the pool could not hand out a working connection
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    original = exc.orig
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate:
        return sqlstate[:2] in _TRANSIENT_CLASSES or sqlstate in _TRANSIENT_CODES
    if type(original).__module__.startswith("psycopg"):
        # No SQLSTATE: the error happened on the client side of a broken or refused connection.
        return isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)
    message = str(original).lower()
    return isinstance(exc, sa.exc.OperationalError) and any(text in message for text in _SQLITE_TRANSIENT)


def transaction_is_broken(conn: Connection) -> bool:
    """True if PostgreSQL has aborted the open transaction (a statement in it failed, even if
    the caller caught the error): committing it would silently roll everything back."""
    if conn.dialect.name != "postgresql":
        return False  # SQLite rolls back only the failed statement
    from psycopg.pq import TransactionStatus

    dbapi = conn.connection.dbapi_connection
    return dbapi is not None and dbapi.info.transaction_status == TransactionStatus.INERROR


def insert_for(dialect: str, table: sa.Table) -> Any:
    """``INSERT`` that can say ``ON CONFLICT`` (SQLite and PostgreSQL speak it alike)."""
    return (sqlite.insert if dialect == "sqlite" else postgresql.insert)(table)
