"""Tokens are compared in constant time: the presented token's digest against every configured
entry with ``hmac.compare_digest``, all of them whichever matches (or none), so that the time an
answer takes says nothing about which entry matched or how much of a digest did.

A timing measurement would be flaky on a shared machine; instead the comparison is watched: a
spy stands in for ``hmac.compare_digest`` where ``peerlink.web.auth`` calls it, and a real app is
sent requests with the first entry's token, the last one's and an unknown one. Replacing the
call by ``==``, stopping at the first match, or comparing the token itself fails here.
"""

from __future__ import annotations

import hmac
from types import SimpleNamespace
from typing import Any

import pytest

from peerlink.testing import Tokens, settings_for
from peerlink.web import auth
from peerlink.web.auth import digest, new_token
from referrals.app import DEFINITION as REFERRALS

SITE = "ebbw-vale"


class ComparisonSpy:
    """``hmac.compare_digest`` as ``peerlink.web.auth`` sees it, recording what it compares."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, Any]] = []

    def compare_digest(self, a: Any, b: Any) -> bool:
        self.calls.append((a, b))
        return hmac.compare_digest(a, b)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> ComparisonSpy:
    watching = ComparisonSpy()
    monkeypatch.setattr(auth, "hmac", SimpleNamespace(compare_digest=watching.compare_digest))
    return watching


@pytest.fixture
def app_and_tokens(tmp_path):
    tokens = Tokens()
    # Five entries, each a role the endpoint below lets in or not: a match is found at either end.
    for role, site in (("coordinator", SITE), ("mentor", SITE), ("facilitator", SITE), ("service", "merthyr")):
        tokens.token(role, site)
    tokens.token("service", SITE)
    url = f"sqlite:///{tmp_path / 'referrals.db'}"
    REFERRALS.migrations.upgrade(url)
    app = REFERRALS.create_app(settings_for("referrals", database_url=url, site=SITE, tokens=tokens.config()))
    yield app, tokens
    app.extensions["peerlink"].engine.dispose()


def test_every_entry_is_compared_in_constant_time_whichever_matches(app_and_tokens, spy):
    app, tokens = app_and_tokens
    configured = [entry.digest for entry in auth_entries(app)]
    assert len(configured) == 5
    first, last = tokens.token("coordinator", SITE), tokens.token("service", SITE)
    assert digest(first) == configured[0] and digest(last) == configured[-1]
    client = app.test_client()
    for token, status in ((first, 200), (last, 200), (new_token(), 401)):
        spy.calls.clear()
        response = client.get("/referrals", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == status, response.get_data(as_text=True)
        # Every configured entry, once, against the presented token's digest (never the token).
        assert [b for _, b in spy.calls] == configured, f"compared {len(spy.calls)} of {len(configured)} entries"
        assert {a for a, _ in spy.calls} == {digest(token)}
    print(f"{len(configured)} entries compared with hmac.compare_digest on a first match, a last match and a miss")


def auth_entries(app: Any) -> tuple[Any, ...]:
    """The entries the app's authenticator holds, in order (the app's own, not the test's list)."""
    (authenticator,) = [
        getattr(function, "__self__", None)
        for function in app.before_request_funcs[None]
        if isinstance(getattr(function, "__self__", None), auth.TokenAuthenticator)
    ]
    return authenticator.entries
