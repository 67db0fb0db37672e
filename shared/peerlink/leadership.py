"""One relay per database at a time: two would interleave an aggregate's events.

PostgreSQL: a session advisory lock on a connection kept for the purpose, checked every
round, so that a relay whose lock connection died stops before another takes over for long.
SQLite (one host): an exclusive lock on a file beside the database, released by the kernel
when the process dies, however it dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
import time
from collections.abc import Iterator
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine


class LostLeadership(ConnectionError):
    """The lock that made this relay the only one is gone: stop publishing, try again."""


class Lease(Protocol):
    def confirm(self) -> None:
        """Raise :class:`LostLeadership` if this process may no longer be sure it is the one."""
        ...


class _FileLease:
    def confirm(self) -> None:
        pass  # a held flock cannot be lost while the process lives


class _AdvisoryLease:
    CHECK_EVERY = 1.0

    def __init__(self, conn: sa.Connection):
        self.conn = conn
        self._checked = time.monotonic()

    def confirm(self) -> None:
        if time.monotonic() - self._checked < self.CHECK_EVERY:
            return
        try:
            self.conn.execute(sa.text("SELECT 1"))
            self.conn.commit()
        except sa.exc.SQLAlchemyError as exc:
            raise LostLeadership("the connection holding the relay lock is gone") from exc
        self._checked = time.monotonic()


@contextlib.contextmanager
def single_relay(engine: Engine, name: str, stop: threading.Event) -> Iterator[Lease | None]:
    """Yield a lease while this process is the one relay of ``engine``'s database, else None
    (after a short wait, so that a standby relay polls gently)."""
    if engine.dialect.name == "sqlite":
        with open(f"{engine.url.database}.relay.lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                stop.wait(2.0)
                yield None
                return
            yield _FileLease()
        return
    with engine.connect() as conn:
        key = f"peerlink-relay:{name}:{conn.execute(sa.text('SELECT current_schema()')).scalar_one()}"
        got = conn.execute(sa.text("SELECT pg_try_advisory_lock(hashtext(:key))"), {"key": key}).scalar_one()
        conn.commit()
        if not got:
            stop.wait(2.0)
            yield None
            return
        try:
            yield _AdvisoryLease(conn)
        finally:
            with contextlib.suppress(Exception):
                conn.execute(sa.text("SELECT pg_advisory_unlock(hashtext(:key))"), {"key": key})
                conn.commit()
