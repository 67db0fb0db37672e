"""Bearer tokens with a role and a site; every endpoint declares who may call it.

Tokens are configured only as SHA-256 digests (``PEERLINK_API_TOKENS``), so the
environment never holds a usable secret, and compared in constant time. A token of one
site gets nothing of another site's instance. An endpoint is either ``@public`` or
``@requires(...)`` roles: the app refuses to start with one that is neither.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import Flask, Response, current_app, g, redirect, request
from flask_smorest import abort

from peerlink.config import ROLES, TokenEntry

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "_peerlink_public"
BROWSER_SESSION = "_peerlink_browser_session"
# Where a page for people in a browser (a dashboard) keeps the token they signed in with.
SESSION_COOKIE = "peerlink_session"
# flask-smorest's own blueprint serving /openapi.json.
PUBLIC_BLUEPRINTS = frozenset({"api-docs"})
ROLES_ATTR = "_peerlink_roles"


@dataclass(frozen=True)
class Principal:
    role: str
    site: str
    label: str


def new_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_entry(token: str, role: str, site: str, label: str = "") -> str:
    """The ``PEERLINK_API_TOKENS`` entry for a token."""
    return ":".join(filter(None, [role, site, digest(token), label]))


def public(view: F) -> F:
    """No token needed (health, metrics, the OpenAPI document, public pages)."""
    setattr(view, PUBLIC, True)
    return view


def browser_session(login: str) -> Callable[[F], F]:
    """The page also takes the token from the sign-in cookie (``SESSION_COOKIE``), so that a
    person can open it in a browser, and sends a browser without one to ``login``; API clients
    keep sending the bearer header."""

    def mark(view: F) -> F:
        setattr(view, BROWSER_SESSION, login)
        return view

    return mark


def requires(*roles: str) -> Callable[[F], F]:
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown or missing roles: {sorted(unknown)}")

    def mark(view: F) -> F:
        setattr(view, ROLES_ATTR, frozenset(roles))
        return view

    return mark


def current_principal() -> Principal:
    return g.peerlink_principal  # type: ignore[no-any-return]


class TokenAuthenticator:
    def __init__(self, entries: Iterable[TokenEntry], site: str):
        self.entries = tuple(entries)
        self.site = site

    def identify(self, token: str) -> TokenEntry | None:
        presented = digest(token)
        found = None
        # Compare against every entry, whatever matches, so timing says nothing.
        for entry in self.entries:
            if hmac.compare_digest(presented, entry.digest):
                found = entry
        return found

    def install(self, app: Flask) -> None:
        app.before_request(self._check)

    def _check(self) -> Response | None:
        view = _view_for_request()
        if view is None or getattr(view, PUBLIC, False) or request.blueprint in PUBLIC_BLUEPRINTS:
            return None
        header = request.headers.get("Authorization", "")
        login = getattr(view, BROWSER_SESSION, None)
        if login and not header:
            cookie = request.cookies.get(SESSION_COOKIE, "")
            entry = self.identify(cookie) if cookie else None
            if entry is None and request.accept_mimetypes.accept_html:
                return redirect(f"{login}?{urlencode({'next': request.full_path.rstrip('?')})}", code=303)
            header = f"Bearer {cookie}" if cookie else ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            abort(401, message="A bearer token is required.", headers={"WWW-Authenticate": 'Bearer realm="peerlink"'})
        entry = self.identify(token.strip())
        if entry is None:
            abort(
                401,
                message="The bearer token is not valid.",
                headers={"WWW-Authenticate": 'Bearer realm="peerlink", error="invalid_token"'},
            )
        if entry.site != self.site:
            abort(403, message="This token belongs to another site.")
        roles = getattr(view, ROLES_ATTR, frozenset())
        if entry.role not in roles:
            abort(403, message=f"The {entry.role} role may not do this.")
        g.peerlink_principal = Principal(entry.role, entry.site, entry.label)
        return None


def _view_for_request() -> Any:
    """The function (or MethodView method) that will serve this request, if any."""
    if request.url_rule is None or request.endpoint is None:
        return None
    view = current_app.view_functions.get(request.endpoint)
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        method = request.method.lower()
        if method == "head":
            method = "get"
        return getattr(view_class, method, None) or view
    return view


def undeclared_endpoints(app: Flask) -> list[str]:
    """Endpoints that are neither public nor restricted to roles: a bug caught at start."""
    missing = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        if view is None or rule.endpoint == "static" or rule.endpoint.split(".")[0] in PUBLIC_BLUEPRINTS:
            continue
        view_class = getattr(view, "view_class", None)
        targets = (
            [getattr(view_class, m.lower()) for m in (rule.methods or ()) if hasattr(view_class, m.lower())]
            if view_class is not None
            else [view]
        )
        for target in targets:
            if not getattr(target, PUBLIC, False) and not getattr(target, ROLES_ATTR, None):
                missing.append(f"{rule.rule} ({rule.endpoint})")
    return sorted(set(missing))
