"""Sends the messages owed on one channel, once each as far as our side can tell.

A small batch of due deliveries is claimed (a lease, so a second sender leaves them alone), each is
decided by the rules (:mod:`notifications.domain.policy`) with the world as it is now, and
what is not to be sent now is settled together: skipped with the reason, put off (quiet hours,
a missing Welsh template, details not yet known) or folded into a coordinator's digest. The
rest are rendered, sent and settled one by one, each with its ``notification.sent`` or
``notification.failed`` event in the same transaction. A transient failure puts a delivery
back with a growing delay; a permanent one, or the last attempt, marks it failed, and a person
reached on no channel gets their mentor (or the coordinators) asked to phone. A provider that
says "too many" pauses the whole channel for as long as it asks, counting no attempt.

Several senders may work on one database (several ``work`` processes). A delivery's lease is
renewed just before it is sent, for longer than one send can take, and every outcome is written
only while the lease is still ours (``store.renew``, ``store.settle``): a sender whose claim ran
out during a slow batch finds another has taken the rest, and neither sends nor overwrites them.

A crash after the provider accepted a message but before we recorded it resends it once the
claim expires (an email with the same Message-ID); recording is retried in place to make that
rarer still.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import psycopg
import sqlalchemy as sa
from prometheus_client import Counter, Histogram
from sqlalchemy.engine import Connection

from notifications import commands, messages, store
from notifications.channels import Outgoing, PermanentFailure, RateLimited, TransientFailure, Transport
from notifications.domain import policy
from notifications.domain.messages import NoTextVersion, compose_email, compose_text
from notifications.domain.policy import Decision, Defer, Fail, Go, IntoDigest, Owed, Rules, Skip
from notifications.domain.recipients import NO_PREFERENCES, languages_for
from notifications.domain.sms import MAX_CHARACTERS, indiscreet_words
from notifications.templating import TemplateError, TemplateSet, UnknownKind
from notifications.wakeup import waker_for
from peerlink.amqp import Backoff
from peerlink.contracts import NOTIFICATION_FAILED, NOTIFICATION_SENT
from peerlink.contracts.vocabulary import NOTIFICATION_FAILURE_REASONS
from peerlink.db import is_connection_failure, read_transaction, write_connection, write_transaction
from peerlink.outbox import Producer, emit
from peerlink.wakeup import Waker

log = logging.getLogger(__name__)

SENT = Counter("peerlink_notifications_sent_total", "Messages accepted by the provider", ["channel", "kind"])
FAILED = Counter("peerlink_notifications_failed_total", "Messages given up on", ["channel", "kind", "reason"])
SKIPPED = Counter("peerlink_notifications_skipped_total", "Messages not sent, on purpose", ["channel", "reason"])
SEGMENTS = Counter("peerlink_notifications_sms_segments_total", "Text parts sent (what is billed)", ["encoding"])
LATENCY = Histogram(
    "peerlink_notifications_latency_seconds",
    "From a message being owed to its acceptance by the provider",
    ["channel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400),
)

IDLE_AFTER = 5.0  # seconds without sending before a kept connection is let go

# How long a claim holds, and how long each renewal before a send holds: comfortably longer than
# one send can take. SMTP waits at most 15 s for each exchange; a send on a fresh connection
# (connect, greeting, EHLO, STARTTLS and its handshake, EHLO again, AUTH, MAIL, RCPT, DATA, the
# message) is about a dozen of them, once more if a kept connection had closed: under 4 minutes
# however slow the server. A text is one HTTP request with 10 s timeouts: under a minute. The cost
# of a long lease: a sender that dies holding deliveries delays them by up to this long.
CLAIM_FOR = timedelta(minutes=10)
# Deliveries claimed at once, for each sending lane: enough to keep a lane busy between rounds,
# few enough that a slow provider does not hold many more than it is working on.
PER_LANE = 12


_T = TypeVar("_T")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _lost(row: Any, what: str) -> None:
    """A delivery that stopped being ours while we held it: another sender took it once our claim
    ran out, or it was skipped meanwhile (the person erased, the event cancelled)."""
    log.info("a delivery was no longer ours", extra={"delivery": str(row.id), "what": what})


@dataclass(frozen=True)
class _Settled:
    """A delivery as it is once settled (for the rest of the message's channels to be judged with)."""

    status: str
    reason: str | None


@dataclass
class _Plan:
    row: Any
    decision: Decision
    outgoing: Outgoing | None = None
    languages: tuple[str, ...] = ()
    segments: int | None = None
    encoding: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    lease: datetime | None = None  # our claim on the row, as it is in the database
    held: bool | None = None  # held afresh just before sending (None: not yet; False: no longer ours)

    def __post_init__(self) -> None:
        if self.lease is None:
            self.lease = self.row.claimed_until  # as claimed


class Dispatcher:
    def __init__(
        self,
        engine: sa.Engine,
        transport: Transport | None,
        *,
        channel: str,
        site: str,
        templates: TemplateSet,
        rules: Rules,
        retry_delays: tuple[timedelta, ...],
        poll: float = 1.0,
        claim_for: timedelta = CLAIM_FOR,
        batch: int | None = None,
        senders: int = 1,
        clock: Callable[[], datetime] = _utcnow,
    ):
        self.engine = engine
        self.transport = transport  # None: the channel is not set up here
        self.channel = channel
        self.site = site
        self.templates = templates
        self.rules = rules
        self.retry_delays = retry_delays
        self.poll = poll
        self.claim_for = claim_for
        self.batch = batch or senders * PER_LANE
        self.senders = senders
        self.clock = clock
        self.producer = Producer(site, "notifications")
        self.paused_until: datetime | None = None
        self._stop = threading.Event()
        # Each sending thread has its own transport (an SMTP connection) and its own connection
        # to record outcomes with (no pool checkout and ping per message).
        self._local = threading.local()
        self._lock = threading.Lock()
        self._transports: list[Transport] = []
        self._writers: list[Connection] = []
        self._pool: ThreadPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"Dispatcher({self.channel}, {self.transport.name if self.transport else 'not set up'})"

    def run(self, stop: threading.Event) -> None:
        self._stop = stop
        backoff = Backoff()
        while not stop.is_set():
            try:
                with waker_for(self.engine) as waker:
                    self._rounds(stop, waker)
            except sa.exc.SQLAlchemyError as exc:
                if not is_connection_failure(exc):
                    raise
                log.warning("dispatcher lost the database", extra={"error": repr(exc)})
                backoff.sleep(stop)
            except psycopg.OperationalError as exc:  # the waker's own connection
                log.warning("dispatcher lost its wake-up connection", extra={"error": repr(exc)})
                backoff.sleep(stop)
        self.close()

    def close(self) -> None:
        """Let go of the sending threads, their connections and the transports' connections."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._idle()
        with self._lock:
            writers, self._writers = self._writers, []
        for writer in writers:
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                writer.close()
        self._local = threading.local()

    def _rounds(self, stop: threading.Event, waker: Waker) -> None:
        """Send what is due; when nothing is, wait to be woken by a commit that owed something,
        or ``poll`` seconds at most (for what was put off until a time, not a commit)."""
        last_sent = time.monotonic()
        while not stop.is_set():
            if self.send_due():
                last_sent = time.monotonic()
                continue
            if time.monotonic() - last_sent > IDLE_AFTER:
                self._idle()
            waker.wait(self.poll, stop)

    def _idle(self) -> None:
        with self._lock:
            transports = list(self._transports)
        for transport in transports:
            transport.idle()

    # One round -----------------------------------------------------------------------

    def send_due(self) -> int:
        now = self.clock()
        if self.paused_until and now < self.paused_until:
            return 0
        self.paused_until = None
        with write_transaction(self.engine) as conn:
            rows = store.claim_due(conn, self.channel, now, now + self.claim_for, self.batch)
        if not rows:
            return 0
        with read_transaction(self.engine) as conn:
            world = messages.load_world(conn, rows)
        kinds = {kind: self._templates_of(kind) for kind in {row.kind for row in rows}}  # once a round
        plans = [self._plan_or_retry(row, world, now, *kinds[row.kind]) for row in rows]
        settled_now = [plan for plan in plans if not isinstance(plan.decision, Go)]
        if settled_now:
            # In message order, so that two channels' senders lock messages in the same order.
            settled_now.sort(key=lambda p: (p.row.event_id, p.row.recipient_id, p.row.kind))
            self._settle(lambda conn: [self._apply(conn, plan, now) for plan in settled_now])
        self._send_all([plan for plan in plans if isinstance(plan.decision, Go)])
        return len(rows)

    def _send_all(self, plans: list[_Plan]) -> None:
        """In ``senders`` lanes at once; one person's messages stay in one lane, in order."""
        if self.senders <= 1 or len(plans) <= 1:
            self._send_lane(plans)
            return
        lanes: dict[int, list[_Plan]] = {}
        for plan in plans:
            lanes.setdefault(hash(plan.row.recipient_id) % self.senders, []).append(plan)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.senders, thread_name_prefix=f"send-{self.channel}")
        for done in [self._pool.submit(self._send_lane, lane) for lane in lanes.values()]:
            done.result()  # a lost database stops the round, as it would without lanes

    def _send_lane(self, plans: list[_Plan]) -> None:
        """One after another; each outcome is recorded in the transaction that holds the next
        delivery afresh, just before it is sent (one commit a message, not two)."""
        for plan, following in zip(plans, [*plans[1:], None], strict=False):  # the last has none
            if plan.held is None:  # the first of the lane
                self._record(lambda conn: None, plan)
            if plan.held:
                self._send(plan, following)
            else:
                _lost(plan.row, "not sent")

    def _transport(self) -> Transport:
        transport: Transport | None = getattr(self._local, "transport", None)
        if transport is None:
            assert self.transport is not None
            with self._lock:
                transport = self.transport if not self._transports else self.transport.fresh()
                if transport not in self._transports:
                    self._transports.append(transport)
            self._local.transport = transport
        return transport

    def _writer(self) -> Connection:
        writer: Connection | None = getattr(self._local, "writer", None)
        if writer is None or writer.closed or writer.invalidated:
            writer = write_connection(self.engine)
            with self._lock:
                self._writers.append(writer)
            self._local.writer = writer
        return writer

    def _templates_of(self, kind: str) -> tuple[str | None, bool]:
        """Whether a kind's templates are ready (else why not), and whether it has a text version."""
        try:
            described = self.templates.describe(kind)
        except UnknownKind:
            return f"there are no templates for {kind}", False
        return described.problem, described.has_sms

    def _plan_or_retry(
        self, row: Any, world: messages.World, now: datetime, problem: str | None, has_sms: bool
    ) -> _Plan:
        """A delivery that cannot even be planned (a bug) is retried later, never dropped, and
        never stops the others."""
        try:
            return self._plan(row, world, now, problem, has_sms)
        except Exception as exc:  # one delivery's trouble is not the round's
            log.exception("a delivery could not be prepared", extra={"delivery": str(row.id)})
            error = f"{type(exc).__name__}: {exc}"
            return _Plan(
                row, policy.retry_or_give_up(row.attempts + 1, self.retry_delays, now, error), extra={"attempted": True}
            )

    def _plan(self, row: Any, world: messages.World, now: datetime, problem: str | None, has_sms: bool) -> _Plan:
        recipient = world.recipients.get(row.recipient_id)
        preferences = world.preferences.get(row.recipient_id, NO_PREFERENCES)
        if messages.waiting_for_event(row, world, now) and recipient is not None:
            return _Plan(
                row,
                Defer(now + self.rules.wait_for_contact, policy.WAITING_FOR_EVENT, "waiting for the event's details"),
            )
        decision = policy.decide(
            Owed(row.kind, row.channel, row.audience, row.created_at),
            recipient,
            preferences,
            now=now,
            rules=self.rules,
            channel_ready=self.transport is not None,
            stale=messages.no_longer_true(row, world, now),
            template_problem=problem,
            has_sms_version=has_sms,
        )
        if not isinstance(decision, Go):
            return _Plan(row, decision)
        assert recipient is not None
        languages = languages_for(recipient, preferences)
        context = messages.template_context(row, recipient, world, site=self.site)
        try:
            if self.channel == "email":
                email = compose_email(row.kind, languages, context, self.templates.render)
                subject, body, segments, encoding = email.subject, email.body, None, None
            else:
                text = compose_text(row.kind, languages, context, self.templates.render)
                words = indiscreet_words(text.text)
                if words:
                    return _Plan(row, Fail(policy.NOT_DISCREET, f"the text would say {', '.join(words)}"))
                if len(text.text) > MAX_CHARACTERS:
                    return _Plan(row, Fail(policy.REJECTED, f"the text is {len(text.text)} characters long"))
                subject, body, segments, encoding = "", text.text, text.size.segments, text.size.encoding
        except NoTextVersion:
            return _Plan(row, Skip(policy.NO_SMS_VERSION, f"{row.kind} has no text version"))
        except TemplateError as exc:
            log.error("a template could not be rendered", extra={"delivery": str(row.id), "error": str(exc)})
            return _Plan(
                row,
                policy.retry_or_give_up(row.attempts + 1, self.retry_delays, now, str(exc)),
                extra={"attempted": True},
            )
        outgoing = Outgoing(
            delivery_id=str(row.id),
            to=decision.address,
            subject=subject,
            body=body,
            languages=languages,
            message_id=f"<{row.id}@{self.site}.peerlink>",
            kind=row.kind,
        )
        return _Plan(row, decision, outgoing, languages, segments, encoding)

    # Settling what does not go now ------------------------------------------------------

    def _apply(self, conn: Connection, plan: _Plan, now: datetime) -> None:
        row, decision, lease = plan.row, plan.decision, plan.lease
        assert lease is not None
        attempts = row.attempts + (1 if plan.extra.get("attempted") else 0)
        if isinstance(decision, Defer):
            settled = store.settle(
                conn,
                row.id,
                lease,
                due_at=decision.until,
                reason=decision.reason,
                last_error=decision.detail,
                attempts=attempts,
            )
        elif isinstance(decision, IntoDigest):
            settled = store.settle(
                conn, row.id, lease, status=store.DIGESTED, reason=None, last_error=None, settled_at=now
            )
        elif isinstance(decision, Skip):
            settled = self._final(
                conn, row, lease, now, status=store.SKIPPED, reason=decision.reason, last_error=decision.detail
            )
            if settled:
                SKIPPED.labels(row.channel, decision.reason).inc()
        elif isinstance(decision, Fail):
            settled = self._final(
                conn,
                row,
                lease,
                now,
                status=store.FAILED,
                reason=decision.reason,
                last_error=decision.detail,
                attempts=attempts,
            )
        else:  # Go is sent, never settled here
            raise AssertionError(f"not a decision to settle: {decision!r}")
        if not settled:
            _lost(row, "its outcome was not recorded")

    def _final(self, conn: Connection, row: Any, lease: datetime, now: datetime, **values: Any) -> bool:
        """Settle a delivery for good; if it failed, say so; if nobody was reached, ask for a call.
        False, and nothing done, if the delivery is no longer ours."""
        asks = row.audience == "person" and row.kind not in commands.NOT_PHONED_ABOUT
        siblings = store.lock_message(conn, row) if asks else []  # before our own row: see lock_message
        if not store.settle(conn, row.id, lease, settled_at=now, **values):
            return False
        if values["status"] == store.FAILED:
            FAILED.labels(row.channel, row.kind, values["reason"]).inc()
            log.warning("message failed", extra={"delivery": str(row.id), "kind": row.kind, "reason": values["reason"]})
            reason = values["reason"] if values["reason"] in NOTIFICATION_FAILURE_REASONS else "other"
            self._emit(
                conn,
                NOTIFICATION_FAILED,
                row,
                {"reason": reason, "failed_at": now},
                values.get("attempts", row.attempts),
                None,
                None,
            )
        if asks:
            now_settled = [_Settled(values["status"], values["reason"]) if s.id == row.id else s for s in siblings]
            commands.ask_to_phone_if_unreached(conn, row, now_settled, now)
        return True

    def _emit(
        self,
        conn: Connection,
        event_type: Any,
        row: Any,
        data: dict[str, Any],
        attempts: int,
        languages: tuple[str, ...] | None,
        segments: int | None,
    ) -> None:
        emit(
            conn,
            self.producer,
            event_type,
            site_only=bool(row.site_only),
            subject=str(row.id),
            data={
                "delivery_id": row.id,
                "kind": row.kind,
                "channel": row.channel,
                "languages": list(languages or (row.languages.split(",") if row.languages else ["cy", "en"])),
                "attempts": attempts,
                "audience": row.audience,
                "segments": segments,
                **data,
            },
        )

    # Sending --------------------------------------------------------------------------

    def _send(self, plan: _Plan, following: _Plan | None) -> None:
        """Send one delivery, held afresh (``_record``), and record what became of it."""
        row, outgoing, lease = plan.row, plan.outgoing, plan.lease
        assert outgoing is not None and lease is not None and plan.held
        now = self.clock()
        if self.paused_until and now < self.paused_until:
            until = self.paused_until
            self._record(
                lambda conn: store.settle(
                    conn, row.id, lease, due_at=until, reason=policy.RATE_LIMITED, last_error="the channel is paused"
                ),
                following,
            )
            return
        attempts = row.attempts + 1
        try:
            receipt = self._transport().send(outgoing)
        except RateLimited as exc:
            self.paused_until = now + timedelta(seconds=exc.retry_after)
            until = self.paused_until
            log.warning(
                "the provider asked us to slow down", extra={"channel": self.channel, "retry_after": exc.retry_after}
            )
            said = str(exc)
            self._record(
                lambda conn: store.settle(
                    conn, row.id, lease, due_at=until, reason=policy.RATE_LIMITED, last_error=said
                ),
                following,
            )
            return
        except PermanentFailure as exc:
            reason, said = exc.reason, str(exc)
            if not self._record(
                lambda conn: self._final(
                    conn, row, lease, now, status=store.FAILED, reason=reason, last_error=said, attempts=attempts
                ),
                following,
            ):
                _lost(row, "its failure was not recorded")
            return
        except Exception as exc:  # noqa: BLE001 - a provider hiccup or a bug: retried, never dropped
            error = str(exc) if isinstance(exc, TransientFailure) else f"{type(exc).__name__}: {exc}"
            log.warning("message not sent; will retry", extra={"delivery": str(row.id), "error": error})
            decision = policy.retry_or_give_up(attempts, self.retry_delays, now, error)
            self._record(
                lambda conn: self._apply(conn, _Plan(row, decision, extra={"attempted": True}, lease=lease), now),
                following,
            )
            return
        sent_at = self.clock()
        joined = ",".join(outgoing.languages)

        def record(conn: Connection) -> bool:
            if not store.settle_sent(
                conn,
                row.id,
                lease,
                kind=row.kind,
                subject=outgoing.subject or None,
                body=outgoing.body,
                attempts=attempts,
                sent_at=sent_at,
                languages=joined,
                segments=plan.segments,
                provider=receipt.provider,
                provider_ref=receipt.reference,
            ):
                return False
            self._emit(conn, NOTIFICATION_SENT, row, {"sent_at": sent_at}, attempts, outgoing.languages, plan.segments)
            if len(outgoing.languages) == 2:
                store.record_language_decision(conn, row, joined, sent_at)
            return True

        if not self._record(record, following):
            # Only if a send outlasted the lease (CLAIM_FOR): another sender may send it too.
            log.error("a message was sent after its claim had run out", extra={"delivery": str(row.id)})
        log.debug(
            "sent", extra={"delivery": str(row.id), "kind": row.kind, "channel": row.channel, "attempts": attempts}
        )
        SENT.labels(row.channel, row.kind).inc()
        LATENCY.labels(row.channel).observe(max(0.0, (sent_at - row.created_at).total_seconds()))
        if plan.encoding and plan.segments:
            SEGMENTS.labels(plan.encoding).inc(plan.segments)
        if len(outgoing.languages) == 2:
            # A compliance record (also kept in language_decisions): the preference was unknown.
            log.info("sent in Welsh and English, Welsh first", extra={"delivery": str(row.id), "kind": row.kind})

    def _record(self, record: Callable[[Connection], _T], following: _Plan | None) -> _T:
        """Record an outcome and, in the same transaction, hold ``following`` (the lane's next
        delivery) afresh for as long as a send can take: what waited in the batch for its turn
        may have outlived the claim and been taken by another sender, or been skipped meanwhile
        (the person erased, the event cancelled); if so it is not sent."""
        lease = self.clock() + self.claim_for

        def both(conn: Connection) -> tuple[_T, bool]:
            outcome = record(conn)
            held = following is not None and store.renew(conn, following.row.id, following.lease, lease)
            return outcome, held

        outcome, held = self._settle(both)
        if following is not None:  # only once committed
            following.held = held
            if held:
                following.lease = lease
        return outcome

    def _settle(self, record: Callable[[Connection], _T]) -> _T:
        """Record an outcome (and return what ``record`` says); if the database is away, keep
        trying: a message the provider took and we failed to record would be sent again when the
        claim expires."""
        backoff = Backoff(maximum=10.0)
        while True:
            writer = self._writer()
            try:
                with writer.begin():
                    return record(writer)
            except sa.exc.SQLAlchemyError as exc:
                if writer.invalidated or is_connection_failure(exc):
                    with contextlib.suppress(sa.exc.SQLAlchemyError):
                        writer.close()
                    self._local.writer = None
                if not is_connection_failure(exc) or self._stop.is_set():
                    raise
                log.warning("could not record a delivery yet; retrying", extra={"error": repr(exc)})
                backoff.sleep(self._stop)
