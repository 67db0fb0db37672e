from collections.abc import Callable

import pytest

from notifications.app import DEFINITION as NOTIFICATIONS
from peerlink.testing import Tokens, free_port
from referrals.app import DEFINITION as REFERRALS


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def site_env(amqp_url: str, tokens: Tokens, smtp_server) -> Callable[..., dict[str, str]]:
    """The environment of one site's service processes, as an operator would set it."""

    def env(service: str, database_url: str, **extra: str) -> dict[str, str]:
        return {
            "PEERLINK_SITE": "ebbw-vale",
            "PEERLINK_DATABASE_URL": database_url,
            "PEERLINK_AMQP_URL": amqp_url,
            "PEERLINK_API_TOKENS": tokens.config(),
            "PEERLINK_SMTP_URL": smtp_server.url,
            "PEERLINK_RETRY_DELAYS": "200ms,1s",
            "PEERLINK_PORT": str(free_port()),
            **extra,
        }

    return env


@pytest.fixture
def databases(new_database_url) -> dict[str, str]:
    """A migrated database for each service in the slice."""
    urls = {"referrals": new_database_url("referrals"), "notifications": new_database_url("notifications")}
    REFERRALS.migrations.upgrade(urls["referrals"])
    NOTIFICATIONS.migrations.upgrade(urls["notifications"])
    return urls


def referral_body(email: str = "rhian@example.org", language: str = "cy") -> dict:
    return {
        "site": "ebbw-vale",
        "person": {
            "given_name": "Rhian",
            "family_name": "Pritchard",
            "date_of_birth": "1985-03-02",
            "preferred_language": language,
            "contact": {"email": email, "phone": "+447700900123", "channels": ["email"]},
        },
        "source": "self",
        "support_needs": ["alcohol", "mental-health"],
        "consent": {"share_with_mentor": True, "counted_in_figures": True, "wording_version": "2026-01"},
    }


@pytest.fixture
def body() -> Callable[..., dict]:
    return referral_body
