"""Texts through a GOV.UK Notify-style HTTP API (``PEERLINK_SMS_URL``, ``PEERLINK_SMS_API_KEY``).

Notify takes a template id and its placeholders; we keep our own templates (Welsh and English,
reviewed together), so the provider holds one text template whose whole content is
``((body))`` (``PEERLINK_SMS_TEMPLATE_ID``) and we pass the composed text as ``body``. Notify
is open only to eligible public bodies; a charity's provider is reached behind this same
adapter by speaking the same API.

Authentication is Notify's: a JWT (HS256) with the service id as issuer and the time it was
issued, signed with the key's secret, made afresh for every request (Notify allows 30 s of
clock skew). Errors, as Notify documents them: 400 a bad request (a bad phone number is the
recipient's fault: ``invalid-address``), 403 a bad key (our configuration: retried, loudly),
429 too many requests (wait, as ``Retry-After`` says if it says), 5xx the provider's trouble.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from notifications.channels import Outgoing, PermanentFailure, RateLimited, Receipt, TransientFailure, redact
from notifications.settings import SmsProviderSettings

log = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER = 60.0


def notify_token(service_id: str, secret: str, now: float | None = None) -> str:
    def part(value: dict[str, Any]) -> bytes:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=")

    claims = {"iss": service_id, "iat": int(now or time.time())}
    signing_input = part({"typ": "JWT", "alg": "HS256"}) + b"." + part(claims)
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()


@dataclass(frozen=True)
class ReceivedText:
    id: str
    user_number: str
    content: str
    created_at: datetime | None


class NotifySmsTransport:
    def __init__(self, provider: SmsProviderSettings, *, timeout: float = 10.0, client: httpx.Client | None = None):
        self.name = "notify"
        self.provider = provider
        self.client = client or httpx.Client(base_url=provider.url, timeout=timeout, headers={"User-Agent": "peerlink"})

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {notify_token(self.provider.service_id, self.provider.secret)}"}

    def send(self, message: Outgoing) -> Receipt:
        body: dict[str, Any] = {
            "phone_number": message.to,
            "template_id": self.provider.template_id,
            "personalisation": {"body": message.body},
            "reference": message.delivery_id,
        }
        if self.provider.sender_id:
            body["sms_sender_id"] = self.provider.sender_id
        try:
            response = self.client.post("/v2/notifications/sms", json=body, headers=self._headers())
        except httpx.TimeoutException as exc:
            # The provider may have taken it: a retry may send it twice, which is the lesser harm.
            raise TransientFailure(f"the provider did not answer in time: {exc}") from exc
        except httpx.HTTPError as exc:
            raise TransientFailure(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code in (200, 201):
            return Receipt(provider=self.name, reference=_json(response).get("id"))
        raise _failure(response)

    def received_texts(self, older_than: str | None = None) -> tuple[list[ReceivedText], str | None]:
        """One page of texts people sent us, newest first, and the id to page on from (None: no more)."""
        params = {"older_than": older_than} if older_than else None
        try:
            response = self.client.get("/v2/received-text-messages", params=params, headers=self._headers())
        except httpx.HTTPError as exc:
            raise TransientFailure(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise _failure(response)
        page = _json(response)
        texts = [
            ReceivedText(
                id=str(item["id"]),
                user_number=str(item.get("user_number", "")),
                content=str(item.get("content", "")),
                created_at=datetime.fromisoformat(item["created_at"]) if item.get("created_at") else None,
            )
            for item in page.get("received_text_messages", [])
        ]
        more = bool(page.get("links", {}).get("next")) and texts
        return texts, (texts[-1].id if more else None)

    def idle(self) -> None:
        pass

    def fresh(self) -> NotifySmsTransport:
        return self  # httpx's client is safe to share between threads

    def close(self) -> None:
        self.client.close()


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _failure(response: httpx.Response) -> Exception:
    errors = _json(response).get("errors") or [{}]
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    said = redact(str(first.get("message", response.reason_phrase)))
    text = f"{response.status_code} {first.get('error', '')}: {said}".strip()
    status = response.status_code
    if status == 429:
        return RateLimited(text, _retry_after(response))
    if status in (401, 403):
        log.error("the SMS provider refused our key; texts wait until it is fixed", extra={"error": text})
        return TransientFailure(text)
    if status == 400:
        message = said.lower()
        reason = "invalid-address" if "phone" in message or "number" in message else "rejected-by-provider"
        return PermanentFailure(text, reason)
    if 400 <= status < 500 and status not in (408, 409, 425):
        return PermanentFailure(text, "rejected-by-provider")
    return TransientFailure(text)


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return DEFAULT_RETRY_AFTER
