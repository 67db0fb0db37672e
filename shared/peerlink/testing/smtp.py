"""A real SMTP server (aiosmtpd) on loopback that can fail as mail servers do: be down
(connections refused), answer 4xx (try later) or 5xx (never) for a while, bounce one address,
or be too slow to answer."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest

from peerlink.testing.servers import free_port
from peerlink.testing.waiting import wait_until


class SmtpSink:
    """A real SMTP server (aiosmtpd) on loopback.

    Failures a test can script: :meth:`down` / :meth:`up` (nothing listens: connection refused),
    :meth:`refuse` (the next messages answered with an error at the end of DATA), :meth:`bounce`
    (an address refused for good at RCPT), :meth:`slow` (the next sessions kept waiting for the
    answer to MAIL FROM; a client that gives up meanwhile has left nothing behind).
    """

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Message] = []
        self.arrived_at: list[float] = []  # time.time() each message was accepted, beside messages
        self.refuse_next = 0
        self.refusal = "451 4.3.0 Try again later"
        self.refused = 0
        self.bounces: dict[str, str] = {}
        self.bounced: Counter[str] = Counter()
        self.slow_next = 0
        self.slow_for = 0.0
        self.slowed = 0
        self._lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_MAIL(  # noqa: N802
                self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
            ) -> str:
                with sink._lock:
                    delay = sink.slow_for if sink.slow_next > 0 else 0.0
                    if delay:
                        sink.slow_next -= 1
                        sink.slowed += 1
                if delay:
                    await asyncio.sleep(delay)
                envelope.mail_from = address
                envelope.mail_options.extend(options)
                return "250 OK"

            async def handle_RCPT(  # noqa: N802
                self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
            ) -> str:
                with sink._lock:
                    reply = sink.bounces.get(address.lower())
                    if reply:
                        sink.bounced[address.lower()] += 1
                        return reply
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                with sink._lock:
                    if sink.refuse_next > 0:
                        sink.refuse_next -= 1
                        sink.refused += 1
                        return sink.refusal
                    message = message_from_bytes(envelope.original_content or envelope.content)
                    message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
                    sink.messages.append(message)
                    sink.arrived_at.append(time.time())
                return "250 OK"

        self._handler = Handler()
        self.port = free_port()
        self.controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        self.running = True

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def down(self) -> None:
        """Stop listening: connections are refused until :meth:`up`."""
        if self.running:
            self.controller.stop()
            self.running = False

    def up(self) -> None:
        """Listen again, on the same port."""
        from aiosmtpd.controller import Controller

        if not self.running:
            self.controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)
            self.controller.start()
            self.running = True

    def bounce(self, address: str, reply: str = "550 5.1.1 Recipient address rejected: no such mailbox") -> None:
        """Refuse ``address`` for good (a 5xx at RCPT), every time it is tried."""
        with self._lock:
            self.bounces[address.lower()] = reply

    def slow(self, times: int, seconds: float) -> None:
        """Keep the next ``times`` sessions waiting ``seconds`` for the answer to MAIL FROM."""
        with self._lock:
            self.slow_next, self.slow_for = times, seconds

    def refuse(self, times: int, reply: str = "451 4.3.0 Try again later") -> None:
        """Answer the next ``times`` messages with ``reply`` (4xx: try later; 5xx: never)."""
        with self._lock:
            self.refuse_next = times
            self.refusal = reply

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Message]:
        wait_until(lambda: len(self.messages) >= count, timeout=timeout, what=f"{count} emails at the SMTP server")
        return self.messages

    def stop(self) -> None:
        self.down()


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    try:
        yield sink
    finally:
        sink.stop()
