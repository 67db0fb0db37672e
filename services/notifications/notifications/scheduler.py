"""Time-driven work: reminders falling due and coordinators' daily digests.

Everything it needs is in the database (each reminder's event time, each digest item), so a
worker that is stopped, killed or restarted loses none: the next round owes what fell due in
the meantime. A reminder is owed at most once per start time, a digest once per coordinator
a day (the deliveries' unique key), however many workers run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from notifications import commands
from peerlink.amqp import Backoff
from peerlink.db import is_connection_failure, write_transaction

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    def __init__(
        self,
        engine: sa.Engine,
        *,
        reminder_before: timedelta | None,
        digest_at: time,
        zone: ZoneInfo,
        poll: float = 1.0,
        clock: Callable[[], datetime] = _utcnow,
    ):
        self.engine = engine
        self.reminder_before = reminder_before
        self.digest_at = digest_at
        self.zone = zone
        self.poll = poll
        self.clock = clock

    def __repr__(self) -> str:
        return f"Scheduler(reminders {self.reminder_before} before, digests at {self.digest_at:%H:%M})"

    def run(self, stop: threading.Event) -> None:
        backoff = Backoff()
        while not stop.is_set():
            try:
                if not self.tick():
                    stop.wait(self.poll)
                backoff.reset()
            except sa.exc.SQLAlchemyError as exc:
                if not is_connection_failure(exc):
                    raise
                log.warning("scheduler lost the database", extra={"error": repr(exc)})
                backoff.sleep(stop)

    def tick(self, now: datetime | None = None) -> int:
        """One round; returns how much it did (0: nothing was due)."""
        now = now or self.clock()
        done = 0
        if self.reminder_before is not None:
            with write_transaction(self.engine) as conn:
                done += commands.send_due_reminders(conn, now=now, before=self.reminder_before)
        with write_transaction(self.engine) as conn:
            made = commands.make_digests(conn, now=now, at=self.digest_at, zone=self.zone)
        if made:
            log.info("daily digests owed", extra={"count": made})
        return done + made
