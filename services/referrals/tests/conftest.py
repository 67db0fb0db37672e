from collections.abc import Iterator

import pytest
from flask import Flask

from peerlink.testing import settings_for
from referrals.app import DEFINITION, create_app


@pytest.fixture
def app(database_url: str, tokens) -> Iterator[Flask]:
    DEFINITION.migrations.upgrade(database_url)
    app = create_app(settings_for("referrals", database_url=database_url, tokens=tokens.config()))
    yield app
    app.extensions["peerlink"].engine.dispose()


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@pytest.fixture
def engine(app: Flask):
    return app.extensions["peerlink"].engine


def referral_body(**overrides) -> dict:
    body = {
        "site": "ebbw-vale",
        "person": {
            "given_name": "Rhian",
            "family_name": "Pritchard",
            "date_of_birth": "1985-03-02",
            "preferred_language": "cy",
            "contact": {"email": "rhian@example.org", "phone": "+44 7700 900123", "channels": ["email"]},
        },
        "source": "gp",
        "support_needs": ["alcohol", "isolation"],
        "consent": {"share_with_mentor": True, "counted_in_figures": True, "wording_version": "2026-01"},
    }
    body.update(overrides)
    return body


@pytest.fixture
def body():
    return referral_body
