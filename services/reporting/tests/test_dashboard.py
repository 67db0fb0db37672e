"""The dashboard, for people: signed in with a central reader's token, drawn on the server,
checked in headless Chromium against the JSON figures it shows."""

import re

import pytest

from peerlink.testing import live_server

YEAR = "from=2026-01-01&to=2026-12-31"


def test_a_browser_without_a_session_is_sent_to_sign_in_and_an_api_client_gets_a_401(client):
    browser = client.get(f"/dashboard?{YEAR}", headers={"Accept": "text/html"})
    assert browser.status_code == 303
    assert browser.headers["Location"].startswith("/dashboard/login?next=%2Fdashboard%3Ffrom%3D2026-01-01")
    api = client.get("/dashboard", headers={"Accept": "application/json"})
    assert api.status_code == 401 and api.mimetype == "application/problem+json"


def test_the_dashboard_answers_a_bearer_token_too(client, reader, feed, site_story):
    feed(site_story("merthyr").envelopes)
    page = client.get(f"/dashboard?{YEAR}", headers=reader)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "script" not in page.headers["Content-Security-Policy"].replace("'none'", "")
    assert "<script" not in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("who", "status"), [("nonsense", 401), ("coordinator", 401), ("central-reader-elsewhere", 401)]
)
def test_only_a_central_readers_token_signs_in(client, tokens, who, status):
    token = {
        "nonsense": "not-a-token",
        "coordinator": tokens.token("coordinator", "ebbw-vale"),
        "central-reader-elsewhere": tokens.token("central-reader", "ebbw-vale"),
    }[who]
    form = client.get("/dashboard/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = client.post("/dashboard/login", data={"csrf_token": csrf, "token": token, "next": "/dashboard"})
    assert response.status_code == status
    assert "not a central office reader" in response.get_data(as_text=True)
    assert "peerlink_session" not in response.headers.get("Set-Cookie", "")


def test_signing_in_never_sends_you_elsewhere(client, tokens):
    form = client.get("/dashboard/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    token = tokens.token("central-reader", "central")
    for target in ("https://evil.example/", "//evil.example", "/reports", "/dashboard\\@evil"):
        response = client.post("/dashboard/login", data={"csrf_token": csrf, "token": token, "next": target})
        assert response.status_code == 303 and response.headers["Location"] == "/dashboard"


def test_a_sign_in_that_did_not_come_from_our_form_is_refused(client, tokens):
    response = client.post("/dashboard/login", data={"token": tokens.token("central-reader", "central")})
    assert response.status_code == 403


def test_signing_out_takes_the_dashboards_own_form_and_nothing_from_another_site(client, reader):
    page = client.get("/dashboard", headers=reader).get_data(as_text=True)
    logout = r'action="/dashboard/logout"><input type="hidden" name="csrf_token" value="([^"]+)"'
    csrf = re.search(logout, page).group(1)
    forged = client.post("/dashboard/logout", data={}, headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    assert "peerlink_session" not in forged.headers.get("Set-Cookie", "")
    signed_out = client.post("/dashboard/logout", data={"csrf_token": csrf})
    assert signed_out.status_code == 303
    assert "peerlink_session=;" in signed_out.headers["Set-Cookie"]


def test_sign_in_attempts_from_one_address_are_limited(client):
    answers = [client.post("/dashboard/login", data={"token": "guess"}).status_code for _ in range(21)]
    assert answers[:20] == [403] * 20 and answers[20] == 429, answers


def test_the_central_office_reads_its_dashboard_in_chromium(
    app, client, reader, tokens, feed, site_story, browser_page
):
    for site, scale in (("ebbw-vale", 1), ("merthyr", 2), ("pontypridd", 1)):
        feed(site_story(site, scale).envelopes)
    figures = client.get(f"/reports?{YEAR}", headers=reader).get_json()
    page = browser_page
    with live_server(app) as base:
        page.goto(f"{base}/dashboard?{YEAR}")
        assert page.url.startswith(f"{base}/dashboard/login")
        page.fill("#token", "not the token")
        page.click("#sign-in")
        assert "not a central office reader" in page.locator("#login-error").inner_text()
        page.fill("#token", tokens.token("central-reader", "central"))
        page.click("#sign-in")
        page.wait_for_url(re.compile(r"/dashboard\?from=2026-01-01"))

        received = figures["network"]["referrals"]["received"]
        assert page.locator("#network-received .value").inner_text() == str(received)
        assert page.locator("#network-mentors .value").inner_text() == str(figures["network"]["mentors"]["active"])
        assert page.locator("figure svg").count() == 6
        bars = page.locator("#referrals-by-site g.bar")
        assert bars.count() == 3
        assert [bars.nth(i).locator("text.shown").text_content() for i in range(3)] == [
            str(figures["sites"][s]["referrals"]["received"]) for s in ("ebbw-vale", "merthyr", "pontypridd")
        ]
        assert page.locator("#by-site tbody tr").count() == 3
        assert page.locator('#by-site tr[data-site="merthyr"] td.received').inner_text() == "24"

        page.select_option("#site", "merthyr")
        page.click("button.primary")
        page.wait_for_url(re.compile(r"site=merthyr"))
        assert page.locator("#by-site tbody tr").count() == 1
        assert page.locator("#network-received .value").inner_text() == "24"

        page.click("header button")  # sign out
        page.wait_for_url(re.compile(r"/dashboard/login"))
        page.goto(f"{base}/dashboard")
        assert "/dashboard/login" in page.url
