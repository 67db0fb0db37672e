"""A local text-message provider speaking GOV.UK Notify's API, for tests: a real HTTP server on
loopback that checks Notify's JWT, refuses what Notify refuses, and can be told to fail for a
while, to be too slow to answer for a while, or to hold senders to a rate limit. Texts "sent"
are kept to be read back; texts people send us (``receive``) are served as Notify serves
received texts.

Endpoints: ``POST /v2/notifications/sms``, ``GET /v2/notifications/<id>``,
``GET /v2/received-text-messages[?older_than=<id>]``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import select
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from peerlink.testing.waiting import wait_until

UK_MOBILE = re.compile(r"^\+447\d{9}$")
CLOCK_SKEW = 30  # seconds, as Notify allows
PAGE_SIZE = 250


@dataclass(frozen=True)
class SentText:
    id: str
    phone_number: str
    body: str
    reference: str | None
    template_id: str
    sent_at: datetime


@dataclass(frozen=True)
class InboundText:
    id: str
    user_number: str
    content: str
    created_at: datetime


@dataclass(frozen=True)
class _Failure:
    status: int
    error: str
    message: str


@dataclass(frozen=True)
class _Slowness:
    seconds: float


@dataclass
class _Script:
    steps: deque[_Failure | _Slowness] = field(default_factory=deque)  # one per send request, in order
    limit: tuple[int, float] | None = None
    accepted_at: deque[float] = field(default_factory=deque)


class SmsProvider:
    """A Notify-style provider on 127.0.0.1; ``url``, ``api_key`` and ``template_id`` configure a client."""

    def __init__(self) -> None:
        self.service_id = str(uuid.uuid4())
        self.secret = str(uuid.uuid4())
        self.api_key = f"peerlink_test-{self.service_id}-{self.secret}"
        self.template_id = str(uuid.uuid4())
        self.texts: list[SentText] = []
        self.inbound: list[InboundText] = []
        self.responses: list[int] = []  # the status of every send request answered, in order
        self.abandoned = 0  # requests held so long that the client gave up: nothing was taken
        self._script = _Script()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-sms", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def env(self) -> dict[str, str]:
        """The settings that point a Peerlink service at this provider."""
        return {
            "PEERLINK_SMS_URL": self.url,
            "PEERLINK_SMS_API_KEY": self.api_key,
            "PEERLINK_SMS_TEMPLATE_ID": self.template_id,
        }

    # What tests script ---------------------------------------------------------------

    def fail(
        self, times: int, status: int = 500, error: str = "Exception", message: str = "Internal server error"
    ) -> None:
        """Answer the next ``times`` send requests with this error (after any steps already scripted)."""
        with self._lock:
            self._script.steps.extend([_Failure(status, error, message)] * times)

    def slow(self, times: int, seconds: float) -> None:
        """Hold the next ``times`` send requests for ``seconds`` before taking them (after any steps
        already scripted). A client that gave up meanwhile has left nothing behind: the text is
        not sent, as a provider drops a request whose caller hung up before it was queued."""
        with self._lock:
            self._script.steps.extend([_Slowness(seconds)] * times)

    def rate_limit(self, requests: int, per_seconds: float) -> None:
        """Accept at most ``requests`` texts in any ``per_seconds``; beyond that, 429 with Retry-After."""
        with self._lock:
            self._script.limit = (requests, per_seconds)
            self._script.accepted_at.clear()

    def receive(self, user_number: str, content: str) -> InboundText:
        """Someone texts us."""
        text = InboundText(str(uuid.uuid4()), user_number, content, datetime.now(UTC))
        with self._lock:
            self.inbound.append(text)
        return text

    def wait_for(self, count: int, timeout: float = 15.0) -> list[SentText]:
        wait_until(lambda: len(self.texts) >= count, timeout=timeout, what=f"{count} texts at the SMS provider")
        return self.texts

    def count(self, status: int) -> int:
        return sum(1 for s in self.responses if s == status)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # The API ---------------------------------------------------------------------------

    def _authorised(self, header: str) -> str | None:
        """None when the bearer token is a valid Notify JWT for this service, else the reason."""
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or token.count(".") != 2:
            return "Unauthorized: authentication token must be provided"
        head, payload, signature = token.split(".")
        expected = hmac.new(self.secret.encode(), f"{head}.{payload}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(_b64decode(signature), expected):
            return "Invalid token: signature, api token not found"
        try:
            header_json, claims = json.loads(_b64decode(head)), json.loads(_b64decode(payload))
        except ValueError:
            return "Invalid token: not JSON"
        if header_json.get("alg") != "HS256" or claims.get("iss") != self.service_id:
            return "Invalid token: service not found"
        if abs(time.time() - float(claims.get("iat", 0))) > CLOCK_SKEW:
            return "Error: Your system clock must be accurate to within 30 seconds"
        return None

    def _next_step(self) -> _Failure | _Slowness | None:
        with self._lock:
            return self._script.steps.popleft() if self._script.steps else None

    def _send(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            if self._script.limit is not None:
                requests, per = self._script.limit
                now = time.monotonic()
                while self._script.accepted_at and now - self._script.accepted_at[0] >= per:
                    self._script.accepted_at.popleft()
                if len(self._script.accepted_at) >= requests:
                    wait = math.ceil(self._script.accepted_at[0] + per - now)
                    message = f"Exceeded rate limit for key type LIVE of {requests} requests per {per:g} seconds"
                    return 429, _errors(429, "RateLimitError", message), {"Retry-After": str(max(1, wait))}
        problems = []
        phone = re.sub(r"[\s()-]", "", str(body.get("phone_number", "")))
        if phone.startswith("07"):
            phone = "+44" + phone[1:]
        if not UK_MOBILE.match(phone):
            problems.append("phone_number Not a UK mobile number")
        if body.get("template_id") != self.template_id:
            problems.append("template_id Template not found")
        text = (body.get("personalisation") or {}).get("body")
        if not isinstance(text, str) or not text:
            problems.append("Missing personalisation: body")
        if problems:
            errors = [{"error": "ValidationError", "message": m} for m in problems]
            return 400, {"status_code": 400, "errors": errors}, {}
        sent = SentText(
            str(uuid.uuid4()), phone, text, body.get("reference"), str(body["template_id"]), datetime.now(UTC)
        )
        with self._lock:
            self.texts.append(sent)
            if self._script.limit is not None:
                self._script.accepted_at.append(time.monotonic())
        return (
            201,
            {
                "id": sent.id,
                "reference": sent.reference,
                "content": {"body": sent.body, "from_number": "Peerlink"},
                "uri": f"{self.url}/v2/notifications/{sent.id}",
                "template": {"id": sent.template_id, "version": 1},
            },
            {},
        )

    def _received(self, older_than: str | None) -> dict[str, Any]:
        with self._lock:
            newest_first = list(reversed(self.inbound))
        if older_than:
            ids = [t.id for t in newest_first]
            newest_first = newest_first[ids.index(older_than) + 1 :] if older_than in ids else []
        page = newest_first[:PAGE_SIZE]
        links = {"current": f"{self.url}/v2/received-text-messages"}
        if len(newest_first) > PAGE_SIZE:
            links["next"] = f"{self.url}/v2/received-text-messages?older_than={page[-1].id}"
        return {
            "received_text_messages": [
                {
                    "id": t.id,
                    "user_number": t.user_number,
                    "notify_number": "07700900000",
                    "created_at": t.created_at.isoformat(),
                    "service_id": self.service_id,
                    "content": t.content,
                }
                for t in page
            ],
            "links": links,
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: tests read what was sent, not an access log

            def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)

            def _refused(self) -> bool:
                reason = provider._authorised(self.headers.get("Authorization", ""))
                if reason is None:
                    return False
                self._answer(403, _errors(403, "AuthError", reason))
                return True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if urlsplit(self.path).path != "/v2/notifications/sms":
                    self._answer(404, _errors(404, "NotFound", "Not found"))
                    return
                if self._refused():
                    provider.responses.append(403)
                    return
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                if not isinstance(body, dict):
                    provider.responses.append(400)
                    self._answer(400, _errors(400, "BadRequestError", "Invalid JSON supplied in POST data"))
                    return
                step = provider._next_step()
                if isinstance(step, _Failure):
                    provider.responses.append(step.status)
                    self._answer(step.status, _errors(step.status, step.error, step.message))
                    return
                if isinstance(step, _Slowness):
                    time.sleep(step.seconds)
                    if self._client_left():
                        provider.abandoned += 1
                        return
                status, answer, headers = provider._send(body)
                provider.responses.append(status)
                self._answer(status, answer, headers)

            def _client_left(self) -> bool:
                """The client closed its end (it timed out): readable, and nothing to read."""
                readable, _, _ = select.select([self.connection], [], [], 0)
                if not readable:
                    return False
                try:
                    return self.connection.recv(1, socket.MSG_PEEK) == b""
                except OSError:
                    return True

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if self._refused():
                    return
                if parts.path == "/v2/received-text-messages":
                    older_than = parse_qs(parts.query).get("older_than", [None])[0]
                    self._answer(200, provider._received(older_than))
                    return
                match = re.fullmatch(r"/v2/notifications/([0-9a-f-]{36})", parts.path)
                found = [t for t in provider.texts if match and t.id == match.group(1)]
                if not found:
                    self._answer(404, _errors(404, "NoResultFound", "No result found"))
                    return
                text = found[0]
                self._answer(
                    200,
                    {
                        "id": text.id,
                        "reference": text.reference,
                        "phone_number": text.phone_number,
                        "type": "sms",
                        "status": "delivered",
                        "body": text.body,
                        "created_at": text.sent_at.isoformat(),
                    },
                )

        return Handler


def _errors(status: int, error: str, message: str) -> dict[str, Any]:
    return {"status_code": status, "errors": [{"error": error, "message": message}]}


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@pytest.fixture
def sms_provider() -> Iterator[SmsProvider]:
    provider = SmsProvider()
    try:
        yield provider
    finally:
        provider.stop()
