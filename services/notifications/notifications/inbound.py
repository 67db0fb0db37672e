"""Texts people send back: STOP (or STOPIO) stops texts to that number, START resumes them.

The provider keeps received texts (Notify's ``/v2/received-text-messages``, newest first); we
read them every ``PEERLINK_SMS_INBOUND_POLL`` and remember only which ids we have handled, so
each is acted on once and neither the number nor the words are kept here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa

from notifications import commands, store
from notifications.channels import PermanentFailure, TransientFailure
from notifications.channels.sms import NotifySmsTransport, ReceivedText
from peerlink.amqp import Backoff
from peerlink.db import is_connection_failure, read_transaction, write_transaction

log = logging.getLogger(__name__)

MAX_PAGES = 20


class InboundTexts:
    def __init__(
        self,
        engine: sa.Engine,
        provider: NotifySmsTransport,
        *,
        poll: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.engine = engine
        self.provider = provider
        self.poll = poll
        self.clock = clock

    def run(self, stop: threading.Event) -> None:
        backoff = Backoff(maximum=300.0)
        while not stop.is_set():
            try:
                self.read_new()
                backoff.reset()
                stop.wait(self.poll)
            except TransientFailure as exc:
                log.warning("could not read received texts", extra={"error": str(exc)})
                backoff.sleep(stop)
            except PermanentFailure as exc:
                # A provider without received texts, say: texts still go; STOP is read once it works.
                log.error("the SMS provider refuses to list received texts", extra={"error": str(exc)})
                stop.wait(backoff.maximum)
            except sa.exc.SQLAlchemyError as exc:
                if not is_connection_failure(exc):
                    raise
                backoff.sleep(stop)

    def read_new(self) -> dict[str, int]:
        """Handle every received text not seen yet; returns what was done, counted."""
        fresh: list[ReceivedText] = []
        older_than = None
        for _ in range(MAX_PAGES):
            page, older_than = self.provider.received_texts(older_than)
            with read_transaction(self.engine) as conn:
                seen = store.inbound_seen(conn, [text.id for text in page])
            fresh += [text for text in page if text.id not in seen]
            if seen or older_than is None:
                break  # the rest of the history was read before
        done: dict[str, int] = {}
        for text in reversed(fresh):  # oldest first: STOP then START ends started
            with write_transaction(self.engine) as conn:
                outcome = commands.text_received(
                    conn,
                    text_id=text.id,
                    user_number=text.user_number,
                    content=text.content,
                    received_at=text.created_at,
                    now=self.clock(),
                )
            done[outcome] = done.get(outcome, 0) + 1
        if done:
            log.info("received texts handled", extra=done)
        return done
