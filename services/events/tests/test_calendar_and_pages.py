"""The iCalendar feeds, parsed back with ``icalendar``, and the public listing in both languages."""

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar

LONDON = ZoneInfo("Europe/London")


def parsed(response) -> Calendar:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/calendar"
    return Calendar.from_ical(response.data)


def vevents(calendar: Calendar) -> dict[str, object]:
    return {str(v["UID"]).split("@")[0]: v for v in calendar.walk("VEVENT")}


def test_a_groups_feed_keeps_ten_oclock_across_the_clock_change_and_shows_moves_and_cancellations(api, group, clock):
    clock.set(datetime(2027, 10, 1, 8, 0, tzinfo=UTC))
    made = api.post(
        "/series",
        {
            "group_id": group["id"],
            "title_cy": "Grŵp celf dydd Mawrth",
            "title_en": "Tuesday art group",
            "description_en": "Bring an apron.",
            "rrule": "FREQ=WEEKLY;BYDAY=TU;COUNT=4",
            "first_starts_at": "2027-10-19T10:00",
            "duration_minutes": 120,
        },
        expect=201,
    ).get_json()
    first, second, third, fourth = made["occurrences"]
    api.post(f"/events/{third['id']}/cancel", {"reason": "weather"}, expect=200)
    api.patch(f"/events/{fourth['id']}", {"starts_at": "2027-11-09T13:30", "venue": "The Hub"}, expect=200)
    feed = parsed(api.get(f"/groups/{group['id']}/calendar.ics", role="mentor"))
    assert str(feed["X-WR-CALNAME"]) == "Grŵp celf Glynebwy / Ebbw Vale art group"
    assert [tz["TZID"] for tz in feed.walk("VTIMEZONE")] == ["Europe/London"]
    found = vevents(feed)
    assert set(found) == {first["id"], second["id"], third["id"], fourth["id"]}
    for event_id in (first["id"], second["id"]):
        start = found[event_id].decoded("DTSTART")
        assert (start.tzinfo.key, start.hour, start.minute) == ("Europe/London", 10, 0)
        assert found[event_id].decoded("DTEND").hour == 12
    assert found[first["id"]].decoded("DTSTART").astimezone(UTC).hour == 9  # BST
    assert found[second["id"]].decoded("DTSTART").astimezone(UTC).hour == 9  # 26 October: still BST
    assert str(found[third["id"]]["STATUS"]) == "CANCELLED"
    assert str(found[first["id"]]["STATUS"]) == "CONFIRMED"
    moved = found[fourth["id"]]
    assert moved.decoded("DTSTART") == datetime(2027, 11, 9, 13, 30, tzinfo=LONDON)
    assert (str(moved["LOCATION"]), int(moved["SEQUENCE"])) == ("The Hub", 1)
    assert str(moved["SUMMARY"]) == "Grŵp celf dydd Mawrth / Tuesday art group"
    assert str(moved["DESCRIPTION"]) == "Bring an apron."
    assert str(moved["CLASS"]) == "PRIVATE"
    welsh = vevents(parsed(api.get(f"/groups/{group['id']}/calendar.ics?lang=cy")))
    assert str(welsh[first["id"]]["SUMMARY"]) == "Grŵp celf dydd Mawrth"
    api.get(f"/groups/{uuid.uuid4()}/calendar.ics", expect=404)
    api.get(f"/groups/{group['id']}/calendar.ics", role="central-reader", expect=403)


def test_public_feeds_hold_only_public_events_and_need_no_token(api, client, group, make_group, make_event):
    open_day = make_event(kind="exhibition", public=True, title_cy="Arddangosfa", title_en="Exhibition")
    make_event(public=False, title_en="Participants' session")
    other_group = make_group(name_en="Merthyr art group", name_cy="Grŵp celf Merthyr")
    elsewhere = api.post(
        "/events",
        {
            "group_id": other_group["id"],
            "kind": "auction",
            "title_cy": "Ocsiwn",
            "title_en": "Auction",
            "starts_at": open_day["starts_at"],
            "ends_at": open_day["ends_at"],
            "public": True,
        },
        expect=201,
    ).get_json()
    site = vevents(parsed(client.get("/public/calendar.ics?lang=en")))
    assert set(site) == {open_day["id"], elsewhere["id"]}
    assert str(site[open_day["id"]]["SUMMARY"]) == "Exhibition"
    group_feed = vevents(parsed(client.get(f"/public/groups/{group['id']}/calendar.ics")))
    assert set(group_feed) == {open_day["id"]}
    assert client.get(f"/public/groups/{uuid.uuid4()}/calendar.ics").status_code == 404
    everything = vevents(parsed(api.get("/calendar.ics", role="service")))
    assert len(everything) == 3
    assert client.get("/calendar.ics").status_code == 401


def test_the_public_page_lists_upcoming_public_events_in_welsh_or_english_and_nothing_personal(
    api, client, group, make_event
):
    open_day = make_event(
        kind="exhibition",
        public=True,
        capacity=2,
        title_cy="Arddangosfa'r gwanwyn",
        title_en="Spring exhibition",
        description_cy="Gwaith y tri grŵp.",
        description_en="Work of the three groups.",
    )
    full = make_event(kind="live-painting", public=True, capacity=1, title_cy="Peintio byw", title_en="Live painting")
    drop_in = make_event(kind="community-event", public=True, drop_in=True, capacity=None, title_en="Drop-in")
    called_off = make_event(kind="auction", public=True, title_cy="Ocsiwn", title_en="Auction")
    api.post(f"/events/{called_off['id']}/cancel", {"reason": "low-numbers"}, expect=200)
    secret = make_event(public=False, title_cy="Sesiwn gyfrinachol", title_en="Private session")
    api.post(
        f"/events/{full['id']}/registrations",
        {"guest": {"given_name": "Sioned", "family_name": "Pritchard", "email": "sioned@example.org"}},
        expect=201,
    )
    api.post(f"/events/{open_day['id']}/registrations", {"person_id": str(uuid.uuid4())}, expect=201)
    welsh = client.get("/public/events?lang=cy")
    assert welsh.status_code == 200 and welsh.mimetype == "text/html"
    assert welsh.headers["Content-Language"] == "cy"
    assert "default-src 'none'" in welsh.headers["Content-Security-Policy"]
    page = welsh.get_data(as_text=True)
    assert '<html lang="cy">' in page
    assert "Digwyddiadau i ddod" in page and "Arddangosfa&#39;r gwanwyn" in page and "Gwaith y tri grŵp." in page
    assert "1 lle ar ôl" in page and "Llawn: mae rhestr aros" in page and "Galw heibio" in page
    assert "Wedi&#39;i ganslo" in page and "10:00\u201312:00" in page
    assert "Mynediad heb risiau" in page  # the group's access, in Welsh
    day = datetime.fromisoformat(open_day["starts_at"])
    assert str(day.day) in page and "Dydd " in page
    for hidden in ("Sesiwn gyfrinachol", "Private session", "Sioned", "Pritchard", "sioned@example.org"):
        assert hidden not in page
    english = client.get("/public/events", headers={"Accept-Language": "en-GB,en;q=0.8"}).get_data(as_text=True)
    assert "Upcoming events" in english and "Spring exhibition" in english and "1 place left" in english
    assert "Full: there is a waiting list" in english and "Cancelled" in english
    assert 'href="/public/events?lang=cy"' in english
    assert secret["id"] not in english and drop_in["id"] in english


def test_the_public_page_with_nothing_to_show_says_so(client):
    page = client.get("/public/events?lang=cy").get_data(as_text=True)
    assert "Does dim digwyddiadau cyhoeddus i ddod" in page


def test_an_unknown_language_is_refused_by_every_feed_and_the_page_falls_back_to_the_browsers(
    api, client, group, make_event
):
    make_event(public=True, title_cy="Arddangosfa", title_en="Exhibition")
    for feed in ("/public/calendar.ics", f"/public/groups/{group['id']}/calendar.ics"):
        refused = client.get(f"{feed}?lang=fr")
        assert (refused.status_code, refused.mimetype) == (422, "application/problem+json"), feed
        assert refused.get_json()["errors"][0]["parameter"] == "lang"
        assert b"Arddangosfa / Exhibition" in client.get(feed).data  # no lang: both languages
    for feed in ("/calendar.ics", f"/groups/{group['id']}/calendar.ics"):
        assert api.get(f"{feed}?lang=fr").status_code == 422, feed
    # The page is for a person at a browser: an unknown ?lang= falls back to what the browser asks.
    page = client.get("/public/events?lang=fr", headers={"Accept-Language": "cy-GB,cy;q=0.9,en;q=0.5"})
    assert (page.status_code, page.headers["Content-Language"]) == (200, "cy")
    assert "Arddangosfa" in page.get_data(as_text=True)
    assert client.get("/public/events?lang=fr").headers["Content-Language"] == "en"
