"""The public self-referral page: bilingual, CSRF-protected, the same intake as the API.

The first tests speak HTTP through Flask's client; the last ones drive the page in headless
Chromium, as a person would, in Welsh and in English.
"""

import re
from datetime import UTC, date, datetime
from html import unescape

import pytest
import sqlalchemy as sa

from peerlink.contracts.vocabulary import CONTACT_CHANNELS, INTERESTS, MENTOR_GENDER_PREFERENCES, SUPPORT_NEEDS
from peerlink.envelope import parse_envelope
from peerlink.tables import outbox
from peerlink.testing import count_rows, live_server, sqlite_only
from referrals.pages import wording
from referrals.store import people, referrals

VALID = {
    "given_name": "Siân",
    "family_name": "Prosser",
    "dob_day": "14",
    "dob_month": "7",
    "dob_year": "1992",
    "preferred_language": "cy",
    "email": "sian.prosser@example.org",
    "phone": "",
    "channels": ["email"],
    "support_needs": ["mental-health", "isolation"],
    "interests": ["art"],
    "availability": ["wed-pm"],
    "mentor_gender": "female",
    "welsh_speaking_mentor": "yes",
    "share_with_mentor": "yes",
    "counted_in_figures": "yes",
}


def open_form(client, lang="en"):
    page = client.get(f"/self-referral?lang={lang}")
    html = unescape(page.get_data(as_text=True))
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    return page, html, hidden


def send(client, hidden, answers, **headers):
    return client.post("/self-referral", data={**hidden, **answers}, headers=headers)


def text_of(response):
    return unescape(response.get_data(as_text=True))


def written(engine):
    return count_rows(engine, people), count_rows(engine, referrals), count_rows(engine, outbox)


@pytest.mark.parametrize(("lang", "title"), [("cy", "Atgyfeirio eich hun"), ("en", "Refer yourself")])
def test_the_page_is_served_in_the_chosen_language_without_a_token(client, lang, title):
    page, html, hidden = open_form(client, lang)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert f'<html lang="{lang}">' in html and title in html
    assert "Glynebwy" in html if lang == "cy" else "Ebbw Vale" in html
    assert "Mae croeso i chi ddefnyddio'r Gymraeg" in html  # Welsh is welcome, in both
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy and "script-src" not in policy
    assert page.headers["X-Frame-Options"] == "DENY"
    cookie = page.headers["Set-Cookie"]
    assert hidden["csrf_token"] in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_the_browsers_language_chooses_when_the_link_does_not(client):
    html = text_of(client.get("/self-referral", headers={"Accept-Language": "cy-GB,cy;q=0.9,en;q=0.5"}))
    assert '<html lang="cy">' in html
    html = text_of(client.get("/self-referral", headers={"Accept-Language": "fr"}))
    assert '<html lang="en">' in html


def test_a_self_referral_is_the_same_intake_as_the_api(client, engine):
    _, _, hidden = open_form(client, "cy")
    response = send(client, hidden, VALID)
    assert response.status_code == 303
    assert re.search(r"/self-referral/received\?lang=cy&ref=[0-9A-F]{8}$", response.headers["Location"])
    thanks = text_of(client.get(response.headers["Location"]))
    assert "Diolch, mae eich atgyfeiriad wedi dod i law" in thanks
    with engine.connect() as conn:
        referral = conn.execute(sa.select(referrals)).one()
        person = conn.execute(sa.select(people)).one()
        bodies = {row.exchange: parse_envelope(row.body) for row in conn.execute(sa.select(outbox))}
    assert referral.source == "self" and referral.self_referral is True
    assert referral.consent_wording_version == wording.CONSENT_VERSION
    assert referral.consent_counted_in_figures is True and referral.consent_share_with_gp is False
    assert referral.support_needs == ["mental-health", "isolation"] and referral.welsh_speaking_mentor is True
    assert (person.given_name, person.date_of_birth, person.preferred_language) == ("Siân", date(1992, 7, 14), "cy")
    received = bodies["peerlink.events"]
    assert received.type == "peerlink.referral.received.v1" and received.data["self_referral"] is True
    assert bodies["peerlink.private"].data["email"] == "sian.prosser@example.org"
    assert str(referral.id)[:8].upper() in thanks


@sqlite_only  # the day, not the storage
def test_sixteen_today_in_wales_is_taken_at_half_past_midnight_in_summer(client, engine, at):
    at(datetime(2026, 6, 14, 23, 30, tzinfo=UTC))  # 00:30 on 15 June in Wales; still the 14th in UTC
    _, _, hidden = open_form(client)
    taken = send(client, hidden, {**VALID, "dob_day": "15", "dob_month": "6", "dob_year": "2010"})
    assert taken.status_code == 303
    _, _, hidden = open_form(client)
    refused = send(client, hidden, {**VALID, "dob_day": "16", "dob_month": "6", "dob_year": "2010", "lang": "en"})
    assert refused.status_code == 422
    assert "We can only take referrals from people aged 16" in text_of(refused)
    assert written(engine) == (1, 1, 2)


def test_a_double_clicked_form_makes_one_referral(client, engine):
    _, _, hidden = open_form(client)
    first = send(client, hidden, VALID)
    second = send(client, hidden, VALID)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert written(engine) == (1, 1, 2)


@pytest.mark.parametrize(
    ("answers", "lang", "expected"),
    [
        ({}, "en", ["Enter your first name", "Enter your date of birth", "Choose at least one thing"]),
        ({}, "cy", ["Rhowch eich enw cyntaf", "Rhowch eich dyddiad geni", "Dewiswch o leiaf un peth"]),
        ({**VALID, "dob_year": str(date.today().year - 15)}, "en", ["We can only take referrals from people aged 16"]),
        ({**VALID, "dob_year": str(date.today().year - 15)}, "cy", ["Gallwn dderbyn atgyfeiriadau gan bobl 16 oed"]),
        ({**VALID, "dob_month": "13"}, "cy", ["Rhowch ddyddiad geni go iawn"]),
        ({**VALID, "email": "not an address"}, "en", ["Enter a real email address"]),
        ({**VALID, "email": "", "channels": ["email"]}, "cy", ["Rhowch eich cyfeiriad e-bost, neu dad-diciwch e-bost"]),
        ({**VALID, "phone": "call me", "channels": []}, "en", ["Enter a real phone number"]),
        ({**VALID, "share_with_mentor": ""}, "cy", ["Mae angen eich caniatâd"]),
        ({**VALID, "support_needs": ["chess"]}, "en", ["Choose at least one thing"]),
        ({**VALID, "mentor_gender": "robot"}, "cy", ["Gwiriwch yr ateb hwn"]),
    ],
)
def test_problems_are_named_in_the_persons_language_and_nothing_is_written(client, engine, answers, lang, expected):
    _, _, hidden = open_form(client, lang)
    response = send(client, hidden, {**answers, "lang": lang})
    assert response.status_code == 422
    html = text_of(response)
    summary = re.findall(r'<li><a href="#\w+">([^<]+)</a></li>', html)
    for message in expected:
        assert any(item.startswith(message) for item in summary), (message, summary)
    assert ("Mae problem" if lang == "cy" else "There is a problem") in html
    if answers.get("given_name"):
        assert f'value="{answers["given_name"]}"' in html  # answers are kept
    assert written(engine) == (0, 0, 0)


@pytest.mark.parametrize(
    ("mutate", "headers"),
    [
        (lambda hidden: {**hidden, "csrf_token": ""}, {}),
        (lambda hidden: {**hidden, "csrf_token": "x" * 43}, {}),
        (lambda hidden: hidden, {"Origin": "https://evil.example"}),
        (lambda hidden: hidden, {"Referer": "https://evil.example/form"}),
    ],
)
def test_a_post_that_did_not_come_from_our_form_is_refused(client, engine, mutate, headers):
    _, _, hidden = open_form(client, "cy")
    response = send(client, mutate(hidden), VALID, **headers)
    assert response.status_code == 403
    assert "Nid oedd modd anfon y ffurflen" in text_of(response)
    assert written(engine) == (0, 0, 0)


def test_a_post_without_the_cookie_is_refused(app, engine):
    _, _, hidden = open_form(app.test_client())
    fresh = app.test_client()  # another browser: no cookie
    assert send(fresh, hidden, VALID).status_code == 403
    assert written(engine) == (0, 0, 0)


def test_json_and_other_bodies_are_not_taken_by_the_form(client, engine):
    assert client.post("/self-referral", json=VALID).status_code == 403
    assert client.post("/self-referral", data="x", content_type="text/plain").status_code == 415
    assert written(engine) == (0, 0, 0)


def test_welsh_and_english_wording_are_complete_and_alike():
    assert wording.TEXT["cy"].keys() == wording.TEXT["en"].keys()
    for key in wording.TEXT["cy"]:
        assert wording.TEXT["cy"][key] != wording.TEXT["en"][key] or key in ("welsh_welcome",), key
    expected = {
        "support_needs": set(SUPPORT_NEEDS),
        "interests": set(INTERESTS),
        "channels": set(CONTACT_CHANNELS),
        "mentor_gender": set(MENTOR_GENDER_PREFERENCES),
    }
    for group, codes in expected.items():
        assert set(wording.LABELS[group]) == codes, group
    for group in wording.LABELS.values():
        for label in group.values():
            assert set(label) == {"cy", "en"} and all(label.values())
    for faults in wording.ERRORS.values():
        for message in faults.values():
            assert set(message) == {"cy", "en"}


# In a real browser ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("cy", {"send": "Anfon", "problem": "Mae problem", "too_young": "16 oed", "thanks": "Diolch"}),
        ("en", {"send": "Send", "problem": "There is a problem", "too_young": "aged 16", "thanks": "Thank you"}),
    ],
)
def test_a_person_refers_themselves_in_chromium(app, engine, browser_page, lang, words):
    page = browser_page
    with live_server(app) as base:
        page.goto(f"{base}/self-referral?lang={lang}")
        assert page.locator("html").get_attribute("lang") == lang
        # Sent empty: every problem in the summary, in the page's language, each linking to its field.
        page.click("#send")
        assert page.locator("#error-summary h2").inner_text() == words["problem"]
        page.locator("#error-summary a").first.click()
        assert page.evaluate("document.activeElement.id") == "given_name"
        # Filled in, but too young: told why, with the answers kept.
        page.fill("#given_name", "Siân")
        page.fill("#family_name", "Prosser")
        page.fill("#dob_day", "14")
        page.fill("#dob_month", "7")
        page.fill("#dob_year", str(date.today().year - 15))
        page.check("#preferred_language-cy")
        page.fill("#email", "sian.prosser@example.org")
        page.check("#channels-email")
        page.check("#support_needs-mental-health")
        page.check("#interests-art")
        page.check("#availability-wed-pm")
        page.select_option("#mentor_gender", "female")
        page.check("#share_with_mentor")
        page.click("#send")
        assert words["too_young"] in page.locator("#date_of_birth-error").inner_text()
        assert page.locator("#given_name").input_value() == "Siân"
        assert page.locator("#support_needs-mental-health").is_checked()
        assert written(engine) == (0, 0, 0)
        # Corrected and sent: thanked in the same language, with a reference.
        page.fill("#dob_year", "1992")
        page.click("#send")
        page.wait_for_url(re.compile(r"/self-referral/received"))
        assert words["thanks"] in page.locator("h1").inner_text()
        reference = page.locator("#reference").inner_text()
    with engine.connect() as conn:
        referral = conn.execute(sa.select(referrals)).one()
    assert str(referral.id)[:8].upper() == reference
    assert referral.self_referral is True and referral.availability == ["wed-pm"]
    assert written(engine) == (1, 1, 2)


def test_a_flood_of_posts_from_one_address_is_held_back_in_the_persons_language(client, engine):
    _, _, hidden = open_form(client, "cy")
    answers = {**VALID, "lang": "cy", "given_name": ""}  # each one a problem to correct
    statuses = [send(client, hidden, answers).status_code for _ in range(10)]
    assert statuses == [422] * 10
    held = send(client, hidden, {**VALID, "lang": "cy"})
    assert held.status_code == 429
    assert int(held.headers["Retry-After"]) > 0
    assert "Arhoswch" in text_of(held)
    # Another address is not held back, and reading the form never is.
    other = client.post("/self-referral", data={**hidden, **VALID}, environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 303
    assert client.get("/self-referral").status_code == 200
    assert written(engine)[1] == 1
