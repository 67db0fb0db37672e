"""``Idempotency-Key`` on requests that create something: a client that retries (a double
click, a lost response) gets the first result back instead of a second referral.

The service stores the key and this fingerprint of the request with what it created, in the
same transaction; the same key with a different request is refused.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from flask import request
from flask_smorest import abort

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
# 8 to 100 visible ASCII characters. The OpenAPI parameter says so with this same pattern: a
# document saying only "8 to 100 characters" had clients (and the fuzzer) send keys refused here.
PATTERN = r"^[\x21-\x7e]{8,100}$"
_KEY = re.compile(PATTERN)


def parameter(description: str) -> dict[str, Any]:
    """The ``Idempotency-Key`` header as the OpenAPI document of an operation declares it."""
    return {
        "in": "header",
        "name": HEADER,
        "required": False,
        "schema": {"type": "string", "pattern": PATTERN, "minLength": 8, "maxLength": 100},
        "description": description,
    }


def idempotency_key() -> tuple[str, str] | None:
    """The request's key and body fingerprint, None without a key; a malformed key is a 400."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not _KEY.match(key):
        abort(400, message=f"{HEADER} must be 8 to 100 visible characters (a UUID is a good choice).")
    return key, fingerprint(request.get_json(silent=True))


def fingerprint(body: Any) -> str:
    """What makes two requests with one key the same request: method, path and body."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{request.method} {request.path} {canonical}".encode()).hexdigest()
