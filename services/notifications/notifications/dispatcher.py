"""Sends the messages we owe, at most once each as far as our side can tell.

A delivery is claimed (a lease, so a second sender leaves it alone), rendered, sent and
settled. A transient failure puts it back with a growing delay; a permanent one, or the
last attempt, marks it failed with the reason. A crash after the SMTP server accepted a
message but before we recorded it resends it once the claim expires, with the same
Message-ID.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter

from notifications import store, templates
from notifications.domain import NoChannel, compose, email_address, site_name
from notifications.mail import PermanentFailure, SmtpSender, TransientFailure
from peerlink.amqp import Backoff
from peerlink.db import is_connection_failure, read_transaction, write_transaction

log = logging.getLogger(__name__)

SENT = Counter("peerlink_notifications_sent_total", "Messages accepted by the provider", ["channel", "kind"])
FAILED = Counter("peerlink_notifications_failed_total", "Messages given up on", ["channel", "kind"])

RETRY_DELAYS = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
)


class Dispatcher:
    def __init__(
        self,
        engine: sa.Engine,
        sender: SmtpSender,
        *,
        site: str,
        poll: float = 0.25,
        claim_for: timedelta = timedelta(minutes=2),
        retry_delays: tuple[timedelta, ...] = RETRY_DELAYS,
    ):
        self.engine = engine
        self.sender = sender
        self.site = site
        self.poll = poll
        self.claim_for = claim_for
        self.retry_delays = retry_delays

    def run(self, stop: threading.Event) -> None:
        backoff = Backoff()
        while not stop.is_set():
            try:
                if self.send_due() == 0:
                    stop.wait(self.poll)
                backoff.reset()
            except sa.exc.SQLAlchemyError as exc:
                if not is_connection_failure(exc):
                    raise
                log.warning("dispatcher lost the database", extra={"error": repr(exc)})
                backoff.sleep(stop)

    def send_due(self, limit: int = 20) -> int:
        now = datetime.now(UTC)
        with read_transaction(self.engine) as conn:
            rows = store.due(conn, now, limit)
        for row in rows:
            with write_transaction(self.engine) as conn:
                if not store.claim(conn, row.id, now, now + self.claim_for):
                    continue
                recipient = store.get_recipient(conn, row.person_id)
            self._deliver(row, recipient)
        return len(rows)

    def _deliver(self, row: Any, recipient: Any) -> None:
        try:
            if recipient is None:
                raise NoChannel("no contact details are known")
            address = email_address(recipient)
            values = dict(row.values)
            values["site_name"] = site_name(values.get("site", self.site))
            composed = compose(row.kind, recipient, values, templates.render)
        except NoChannel as exc:
            self._settle(row, status=store.SKIPPED, last_error=str(exc))
            return
        try:
            self.sender.send(
                to=address,
                subject=composed.subject,
                body=composed.body,
                message_id=f"<{row.id}@{self.site}.peerlink>",
                language=", ".join(composed.languages),
            )
        except PermanentFailure as exc:
            self._failed(row, str(exc))
            return
        except (TransientFailure, Exception) as exc:
            if not isinstance(exc, TransientFailure):
                log.exception("unexpected error sending a message", extra={"delivery": str(row.id)})
            self._retry_later(row, f"{type(exc).__name__}: {exc}")
            return
        self._settle(
            row,
            status=store.SENT,
            attempts=row.attempts + 1,
            sent_at=datetime.now(UTC),
            subject=composed.subject,
            body=composed.body,
            languages=",".join(composed.languages),
            last_error=None,
        )
        SENT.labels(row.channel, row.kind).inc()
        if len(composed.languages) == 2:
            # A compliance record: the preference was unknown, so both went, Welsh first.
            log.info("sent in Welsh and English, Welsh first", extra={"delivery": str(row.id), "kind": row.kind})

    def _retry_later(self, row: Any, error: str) -> None:
        attempts = row.attempts + 1
        if attempts > len(self.retry_delays):
            self._failed(row, f"gave up after {attempts} attempts: {error}")
            return
        log.warning("message not sent; will retry", extra={"delivery": str(row.id), "error": error})
        self._settle(
            row, attempts=attempts, last_error=error, due_at=datetime.now(UTC) + self.retry_delays[attempts - 1]
        )

    def _failed(self, row: Any, error: str) -> None:
        log.error("message failed", extra={"delivery": str(row.id), "error": error})
        FAILED.labels(row.channel, row.kind).inc()
        self._settle(row, status=store.FAILED, attempts=row.attempts + 1, last_error=error)

    def _settle(self, row: Any, **values: Any) -> None:
        with write_transaction(self.engine) as conn:
            store.settle(conn, row.id, **values)
