"""Waking the relay soon after a commit, rather than on a slow poll.

PostgreSQL: the outbox writer NOTIFYs in its transaction (delivered only on commit) and
the relay LISTENs on a connection of its own. SQLite: ``PRAGMA data_version`` changes
whenever another connection commits, and reading it costs next to nothing.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from typing import Protocol

import psycopg
from sqlalchemy.engine import Engine

NOTIFY_CHANNEL = "peerlink_outbox"


class Waker(Protocol):
    def wait(self, timeout: float, stop: threading.Event) -> bool:
        """Block until woken (True), ``timeout`` passed or ``stop`` was set (False)."""
        ...


class PostgresWaker:
    def __init__(self, engine: Engine):
        url = engine.url.set(drivername="postgresql")
        self.connection = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
        self.connection.execute(f"LISTEN {NOTIFY_CHANNEL}")

    def wait(self, timeout: float, stop: threading.Event) -> bool:
        deadline = time.monotonic() + timeout
        woken = False
        while not woken and not stop.is_set() and time.monotonic() < deadline:
            slice_ = min(0.5, max(0.0, deadline - time.monotonic()))
            for _ in self.connection.notifies(timeout=slice_, stop_after=1):
                woken = True
        # Several commits may have notified; one round of publishing serves them all.
        for _ in self.connection.notifies(timeout=0, stop_after=1000):
            pass
        return woken

    def close(self) -> None:
        self.connection.close()


class SqliteWaker:
    POLL = 0.005

    def __init__(self, engine: Engine):
        self.connection = sqlite3.connect(engine.url.database or "", timeout=30, check_same_thread=False)
        self.version = self._version()

    def _version(self) -> int:
        return int(self.connection.execute("PRAGMA data_version").fetchone()[0])

    def wait(self, timeout: float, stop: threading.Event) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not stop.is_set():
            version = self._version()
            if version != self.version:
                self.version = version
                return True
            time.sleep(self.POLL)
        return False

    def close(self) -> None:
        self.connection.close()


@contextlib.contextmanager
def waker_for(engine: Engine) -> Iterator[Waker]:
    waker = SqliteWaker(engine) if engine.dialect.name == "sqlite" else PostgresWaker(engine)
    try:
        yield waker
    finally:
        waker.close()
