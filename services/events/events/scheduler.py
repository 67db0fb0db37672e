"""The events worker's own background work, besides its relay and consumer:

- **Series horizon.** A series' sessions are made up to ``horizon_weeks`` ahead (12 by
  default) when it is created; every few minutes this keeps each running series made that far
  ahead, so a weekly session always has its next twelve weeks in the calendar, registrable,
  and announced (`artevent.scheduled`) weeks before it happens. Making a session is idempotent
  (each occurrence is keyed by its RECURRENCE-ID), so two workers may run this at once.
- **Guest retention.** A public guest's name and email are erased once every event they
  registered for ended ``PEERLINK_EVENTS_GUEST_RETENTION_DAYS`` ago (180 by default; 0 keeps
  them until erased by hand), with an empty `guest-contact.recorded` so notifications forgets
  them too.
- **No-shows.** A confirmed registration still unmarked ``PEERLINK_EVENTS_NO_SHOW_AFTER_HOURS``
  after its event's end (24 by default; 0 never assumes) is recorded as a no-show, with the
  `attendance.recorded` a mark by hand would write, provided someone took that event's register
  (see :mod:`events.domain.attendance`); events that ended more than a week before that are
  left as they are.

A failure of one series or guest is logged and tried again next round; nothing is lost by
waiting, since all of this is derived from what the database already holds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from events import commands, store
from events.domain.attendance import NO_SHOW_AFTER, NO_SHOW_LOOKBACK
from peerlink.config import ConfigError, Settings
from peerlink.db import is_connection_failure, read_transaction
from peerlink.outbox import Producer, UnitOfWork

log = logging.getLogger(__name__)

RETENTION_SETTING = "PEERLINK_EVENTS_GUEST_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 180
NO_SHOW_SETTING = "PEERLINK_EVENTS_NO_SHOW_AFTER_HOURS"
INTERVAL = timedelta(minutes=5)


def guest_retention(settings: Settings) -> timedelta | None:
    raw = settings.optional(RETENTION_SETTING)
    if raw is None:
        return timedelta(days=DEFAULT_RETENTION_DAYS)
    if not raw.isdigit() or int(raw) > 3650:
        raise ConfigError(f"{RETENTION_SETTING}: {raw!r} must be a number of days from 0 (keep) to 3650")
    return timedelta(days=int(raw)) if int(raw) else None


def no_show_after(settings: Settings) -> timedelta | None:
    """How long after an event's end an unmarked registration is assumed a no-show (None: never)."""
    raw = settings.optional(NO_SHOW_SETTING)
    if raw is None:
        return NO_SHOW_AFTER
    if not raw.isdigit() or int(raw) > 720:
        raise ConfigError(f"{NO_SHOW_SETTING}: {raw!r} must be a number of hours from 0 (never) to 720")
    return timedelta(hours=int(raw)) if int(raw) else None


@dataclass
class Round:
    sessions_made: int = 0
    guests_forgotten: int = 0
    no_shows_assumed: int = 0
    failures: list[str] = field(default_factory=list)


@dataclass
class Scheduler:
    engine: sa.Engine
    producer: Producer
    retention: timedelta | None = timedelta(days=DEFAULT_RETENTION_DAYS)
    no_show_after: timedelta | None = NO_SHOW_AFTER
    interval: timedelta = INTERVAL
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except sa.exc.SQLAlchemyError as exc:
                if not is_connection_failure(exc):
                    raise
                log.warning("scheduler could not reach the database; trying again later", extra={"error": repr(exc)})
            stop.wait(self.interval.total_seconds())

    def run_once(self, now: datetime | None = None) -> Round:
        moment = now or self.clock()
        done = Round()
        with read_transaction(self.engine) as conn:
            due = store.schedule.series_due(conn, moment)
            forget = store.places.guests_to_forget(conn, moment - self.retention) if self.retention else []
            registers = (
                store.places.events_with_registers_to_complete(
                    conn,
                    ended_from=moment - self.no_show_after - NO_SHOW_LOOKBACK,
                    ended_before=moment - self.no_show_after,
                )
                if self.no_show_after is not None
                else []
            )
        for series_id in due:
            made = self._each(
                done, f"series {series_id}", lambda uow, s=series_id: commands.extend_series(uow, s, now=moment)
            )
            done.sessions_made += len(made or [])
        for guest_id in forget:
            if self._each(done, f"guest {guest_id}", lambda uow, g=guest_id: commands.erase_guest(uow, g, now=moment)):
                done.guests_forgotten += 1
        for event_id in registers:
            assumed = self._each(
                done,
                f"register of event {event_id}",
                lambda uow, e=event_id: commands.assume_no_shows(uow, e, now=moment, after=self.no_show_after),
            )
            done.no_shows_assumed += len(assumed or [])
        if done.sessions_made or done.guests_forgotten or done.no_shows_assumed:
            log.info(
                "scheduler round",
                extra={
                    "sessions_made": done.sessions_made,
                    "guests_forgotten": done.guests_forgotten,
                    "no_shows_assumed": done.no_shows_assumed,
                },
            )
        return done

    def _each(self, done: Round, what: str, work: Callable[[UnitOfWork], object]) -> object:
        try:
            with UnitOfWork(self.engine, self.producer) as uow:
                result = work(uow)
                uow.commit()
            return result
        except sa.exc.SQLAlchemyError as exc:
            if is_connection_failure(exc):
                raise
            log.exception("scheduler failed on one item; it is tried again next round", extra={"item": what})
        except Exception:
            log.exception("scheduler failed on one item; it is tried again next round", extra={"item": what})
        done.failures.append(what)
        return None
