"""The site's own settings: its time zone (the day of a referral) and its wellbeing scale."""

import json
from datetime import UTC, datetime

import pytest

from peerlink.config import ConfigError
from peerlink.testing import Tokens, settings_for
from referrals import clock
from referrals.app import DEFINITION, create_app

SWEMWBS = {
    "id": "swemwbs",
    "name": "SWEMWBS",
    "minimum": 1,
    "maximum": 5,
    "items": [{"code": f"i{n}", "en": f"Item {n}", "cy": f"Eitem {n}"} for n in range(7)],
}


@pytest.fixture
def site(tmp_path, monkeypatch):
    """An app for this site's settings, on a migrated SQLite database of its own."""
    url = f"sqlite:///{tmp_path}/referrals.db"
    tokens = Tokens()
    tokens.token("coordinator")
    made = []

    def make(**settings: str):
        app = create_app(settings_for("referrals", database_url=url, tokens=tokens.config(), **settings))
        if not made:  # migrated once the settings are taken (a refused setting needs no database)
            DEFINITION.migrations.upgrade(url)
        made.append(app)
        return app.test_client(), tokens.header()

    yield make
    for app in made:
        app.extensions["peerlink"].engine.dispose()


def test_a_site_can_load_a_licensed_scale_for_its_check_ins(site, tmp_path):
    path = tmp_path / "swemwbs.json"
    path.write_text(json.dumps(SWEMWBS))
    client, header = site(PEERLINK_WELLBEING_SCALE=str(path))
    scale = client.get("/outcome-scale", headers=header).get_json()
    assert (scale["id"], len(scale["items"])) == ("swemwbs", 7)
    referral = client.post("/referrals", json=_referral(), headers=header).get_json()
    client.post(f"/referrals/{referral['id']}/accept", json={}, headers=header)
    answers = {f"i{n}": 5 for n in range(7)}
    url = f"/referrals/{referral['id']}/check-ins"
    taken = client.post(url, json={"timepoint": "baseline", "answers": answers}, headers=header)
    assert taken.status_code == 201, taken.get_json()
    assert (taken.get_json()["score"], taken.get_json()["maximum"]) == (35, 35)
    # The default scale's items are not this site's.
    wrong = {"coping": 3, "connected": 3, "hopeful": 3, "health": 3}
    assert client.post(url, json={"timepoint": "review", "answers": wrong}, headers=header).status_code == 422


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "PEERLINK_WELLBEING_SCALE: {path} is"),
        (json.dumps({**SWEMWBS, "id": "Bad Id"}), "PEERLINK_WELLBEING_SCALE: {path} is"),
        (None, "PEERLINK_WELLBEING_SCALE: cannot read {path}"),
    ],
)
def test_a_scale_that_cannot_be_read_stops_the_service_at_start_with_one_clear_line(site, tmp_path, content, message):
    path = tmp_path / "scale.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as refused:
        site(PEERLINK_WELLBEING_SCALE=str(path))
    assert str(refused.value).startswith(message.format(path=path))
    assert "\n" not in str(refused.value)


def test_the_day_of_referral_is_the_day_in_the_sites_time_zone(site, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 6, 14, 23, 30, tzinfo=UTC))
    sixteen_on_the_15th = _referral(date_of_birth="2010-06-15")
    london, header = site()  # Europe/London unless the site says otherwise: 00:30 on the 15th
    assert london.post("/referrals", json=sixteen_on_the_15th, headers=header).status_code == 201
    utc, header = site(PEERLINK_TIMEZONE="UTC")  # still the 14th there
    refused = utc.post("/referrals", json=_referral(date_of_birth="2010-06-15", email="b@example.org"), headers=header)
    assert refused.status_code == 422
    with pytest.raises(ConfigError, match="PEERLINK_TIMEZONE: 'Mars/Olympus' is not a time zone"):
        site(PEERLINK_TIMEZONE="Mars/Olympus")


def _referral(date_of_birth: str = "1985-03-02", email: str = "a@example.org") -> dict:
    return {
        "site": "ebbw-vale",
        "person": {
            "given_name": "Ffion",
            "family_name": "Evans" if email == "a@example.org" else "Morgan",
            "date_of_birth": date_of_birth,
            "preferred_language": "cy",
            "contact": {"email": email, "channels": ["email"]},
        },
        "source": "gp",
        "support_needs": ["isolation"],
        "consent": {"share_with_mentor": True, "counted_in_figures": True, "wording_version": "2026-01"},
    }
