"""A real SMTP server (aiosmtpd) on loopback, that can refuse for a while."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest

from peerlink.testing.servers import free_port
from peerlink.testing.waiting import wait_until


class SmtpSink:
    """A real SMTP server (aiosmtpd) on loopback; :meth:`refuse` makes it answer an error for a while."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Message] = []
        self.arrived_at: list[float] = []  # time.time() each message was accepted, beside messages
        self.refuse_next = 0
        self.refusal = "451 4.3.0 Try again later"
        self.refused = 0
        self._lock = threading.Lock()
        sink = self

        class Handler:
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

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=free_port())
        self.controller.start()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.controller.port}"

    def refuse(self, times: int, reply: str = "451 4.3.0 Try again later") -> None:
        """Answer the next ``times`` messages with ``reply`` (4xx: try later; 5xx: never)."""
        with self._lock:
            self.refuse_next = times
            self.refusal = reply

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Message]:
        wait_until(lambda: len(self.messages) >= count, timeout=timeout, what=f"{count} emails at the SMTP server")
        return self.messages

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    try:
        yield sink
    finally:
        sink.stop()
