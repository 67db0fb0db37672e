"""Public HTML pages and forms: form posts accepted, cross-site posts refused, a strict CSP.

CSRF protection is a double-submit cookie: the page puts a random token in a
``SameSite=Strict``, ``HttpOnly`` cookie and the same token in a hidden field; a post is taken
only when both are there and equal and, when the browser says where it comes from (``Origin``,
else ``Referer``), it comes from this host. Another site can neither read nor set the cookie,
and a strict SameSite cookie is not even sent with its posts. Nothing is kept on the server,
so any gunicorn worker can check any post.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Response, g, request

F = TypeVar("F", bound=Callable[..., Any])

CSRF_COOKIE = "peerlink_csrf"
CSRF_FIELD = "csrf_token"
FORM_MIMETYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_TOKEN_LENGTH = 43  # secrets.token_urlsafe(32)


class CsrfRefused(Exception):
    """A form post that did not come from our own page; ``reason`` is for the log, not the user."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def accepts_forms(view: F) -> F:
    """The view takes ``application/x-www-form-urlencoded`` posts (JSON-only otherwise)."""
    view._peerlink_accepts_forms = True  # type: ignore[attr-defined]
    return view


def csrf_token() -> str:
    """The token for the page being rendered: the browser's own if it has a sane one."""
    token = g.get("peerlink_csrf")
    if token is None:
        offered = request.cookies.get(CSRF_COOKIE, "")
        token = offered if _well_formed(offered) else secrets.token_urlsafe(32)
        g.peerlink_csrf = token
    return token  # type: ignore[no-any-return]


def check_csrf() -> None:
    """Raise :class:`CsrfRefused` unless this post carries our cookie and the same field."""
    if request.mimetype not in FORM_MIMETYPES:
        raise CsrfRefused(f"not a form post ({request.mimetype or 'no content type'})")
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if source and source != "null" and urlsplit(source).netloc != request.host:
        raise CsrfRefused(f"posted from another origin ({urlsplit(source).netloc})")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    field = request.form.get(CSRF_FIELD, "")
    if not _well_formed(cookie) or not hmac.compare_digest(cookie, field):
        raise CsrfRefused("the form's token does not match the browser's")


def html_page(html: str, status: int = 200, *, nonce: str | None = None) -> Response:
    """An HTML response with a Content-Security-Policy allowing only what the page itself holds
    (an inline stylesheet carrying ``nonce``, images and posts to this origin) and the CSRF
    cookie the page's form needs."""
    response = Response(html, status=status, mimetype="text/html")
    style = f"'nonce-{nonce}'" if nonce else "'none'"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src {style}; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["Cache-Control"] = "no-store"
    token = g.get("peerlink_csrf")
    if token is not None:
        response.set_cookie(
            CSRF_COOKIE, token, httponly=True, samesite="Strict", secure=request.is_secure, path=request.path
        )
    return response


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def _well_formed(token: str) -> bool:
    return len(token) == _TOKEN_LENGTH and all(c.isalnum() or c in "-_" for c in token)
