"""Sends the messages we owe, at most once each as far as our side can tell.

A delivery is claimed (a lease, so a second sender leaves it alone), rendered, sent and
settled. A transient failure puts it back with a growing delay; a permanent one, or the
last attempt, marks it failed with the reason. A message for someone whose contact details
have not arrived yet waits for them (for a week at most). A crash after the SMTP server
accepted a message but before we recorded it resends it once the claim expires, with the
same Message-ID; recording is retried in place to make that rarer still.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter

from notifications import store, templates
from notifications.domain import NoChannel, Recipient, compose, email_address, site_name
from notifications.mail import PermanentFailure, SmtpSender
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
WAIT_FOR_CONTACT = timedelta(seconds=30)
GIVE_UP_WAITING = timedelta(days=7)


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
        wait_for_contact: timedelta = WAIT_FOR_CONTACT,
    ):
        self.engine = engine
        self.sender = sender
        self.site = site
        self.poll = poll
        self.claim_for = claim_for
        self.retry_delays = retry_delays
        self.wait_for_contact = wait_for_contact
        self._stop = threading.Event()

    def run(self, stop: threading.Event) -> None:
        self._stop = stop
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
        with read_transaction(self.engine) as conn:
            ids = store.due_ids(conn, datetime.now(UTC), limit)
        for delivery_id in ids:
            now = datetime.now(UTC)  # per claim: a slow send must not shorten the next lease
            with write_transaction(self.engine) as conn:
                row = store.claim(conn, delivery_id, now, now + self.claim_for)
                recipient = store.get_recipient(conn, row.person_id) if row else None
            if row is not None:
                self._deliver(row, recipient)
        return len(ids)

    def _deliver(self, row: Any, recipient: Recipient | None) -> None:
        if recipient is None:
            self._wait_for_contact(row)
            return
        try:
            address = email_address(recipient)
        except NoChannel as exc:
            self._settle(row, status=store.SKIPPED, last_error=str(exc))
            return
        try:
            values = {**row.values, "site_name": site_name(row.values.get("site", self.site))}
            composed = compose(row.kind, recipient, values, templates.render)
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
        except Exception as exc:  # noqa: BLE001 - a template bug or a provider hiccup: retried, never dropped
            log.warning("message not sent", extra={"delivery": str(row.id), "error": repr(exc)})
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

    def _wait_for_contact(self, row: Any) -> None:
        now = datetime.now(UTC)
        if now - row.created_at > GIVE_UP_WAITING:
            self._settle(row, status=store.SKIPPED, last_error="no contact details arrived")
            return
        self._settle(row, due_at=now + self.wait_for_contact, last_error="waiting for contact details")

    def _retry_later(self, row: Any, error: str) -> None:
        attempts = row.attempts + 1
        if attempts > len(self.retry_delays):
            self._failed(row, f"gave up after {attempts} attempts: {error}")
            return
        self._settle(
            row, attempts=attempts, last_error=error, due_at=datetime.now(UTC) + self.retry_delays[attempts - 1]
        )

    def _failed(self, row: Any, error: str) -> None:
        log.error("message failed", extra={"delivery": str(row.id), "error": error})
        FAILED.labels(row.channel, row.kind).inc()
        self._settle(row, status=store.FAILED, attempts=row.attempts + 1, last_error=error)

    def _settle(self, row: Any, **values: Any) -> None:
        """Record the outcome; if the database is away, keep trying: a message the provider took
        and we failed to record would be sent again when the claim expires."""
        _until_recorded(lambda: self._record(row.id, values), self._stop)

    def _record(self, delivery_id: Any, values: dict[str, Any]) -> None:
        with write_transaction(self.engine) as conn:
            store.settle(conn, delivery_id, **values)


def _until_recorded(record: Callable[[], None], stop: threading.Event) -> None:
    backoff = Backoff(maximum=10.0)
    while True:
        try:
            record()
            return
        except sa.exc.SQLAlchemyError as exc:
            if not is_connection_failure(exc) or stop.is_set():
                raise
            log.warning("could not record a delivery yet; retrying", extra={"error": repr(exc)})
            backoff.sleep(stop)
