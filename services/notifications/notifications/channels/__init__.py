"""The channels a message can leave by, behind one interface.

A transport takes one :class:`Outgoing` message and either returns a :class:`Receipt` (the
provider accepted it) or raises: :class:`TransientFailure` (try again later),
:class:`RateLimited` (the provider asks us to slow down: no attempt is counted) or
:class:`PermanentFailure` (it will never work as it is). Email goes over SMTP, texts through
a GOV.UK Notify-style HTTP API, and in development either may go to the log instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+|\+?\d[\d ()-]{8,}\d")


def redact(text: str) -> str:
    """A provider's words without the address or number they may echo (they go to logs)."""
    return _ADDRESS.sub("[address]", text)


@dataclass(frozen=True)
class Outgoing:
    delivery_id: str
    to: str
    subject: str
    body: str
    languages: tuple[str, ...]
    message_id: str  # stable per delivery: a resend after a crash carries the same id
    kind: str = ""  # the kind of message (one of vocabulary.MESSAGE_KINDS)


@dataclass(frozen=True)
class Receipt:
    provider: str
    reference: str | None = None


class TransientFailure(Exception):
    """Try again later (a 4xx from SMTP, a 5xx from an API, a refused connection, a timeout)."""


class RateLimited(TransientFailure):
    """The provider asked us to wait ``retry_after`` seconds before sending on this channel again."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentFailure(Exception):
    """Will never work as it is; ``reason`` is ``invalid-address`` or ``rejected-by-provider``."""

    def __init__(self, message: str, reason: str = "rejected-by-provider"):
        super().__init__(message)
        self.reason = reason


class Transport(Protocol):
    name: str

    def send(self, message: Outgoing) -> Receipt: ...

    def idle(self) -> None:
        """Nothing to send for a while: let go of any open connection."""
        ...

    def fresh(self) -> Transport:
        """One more of the same, for another sending thread (itself, if it may be shared)."""
        ...
