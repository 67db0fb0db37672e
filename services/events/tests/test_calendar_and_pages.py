"""The iCalendar feeds, parsed back with ``icalendar``, and the public listing in both languages."""

import re
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar
from icalendar.parser.property import unescape_backslash

from events.store import tables

LONDON = ZoneInfo("Europe/London")


def parsed(response) -> Calendar:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/calendar"
    return Calendar.from_ical(response.data)


def calendar_name(calendar: Calendar) -> str:
    """X-WR-CALNAME as calendar apps read it: TEXT, unescaped (icalendar keeps an X- value raw)."""
    return unescape_backslash(str(calendar["X-WR-CALNAME"]))


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
    assert calendar_name(feed) == "Grŵp celf Glynebwy / Ebbw Vale art group"
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


def test_a_description_keeps_its_line_breaks_and_a_name_its_punctuation_in_every_feed(api, client, make_group, clock):
    """What the API takes comes back from the feeds as written: a description's paragraphs as
    its lines, a group's name with the ``,`` and ``;`` that TEXT escapes."""
    group = make_group(name_en="Paint, print; chat", name_cy="Paent, print; sgwrs")
    day = (clock.now + timedelta(days=7)).date()
    event = api.post(
        "/events",
        {
            "group_id": group["id"],
            "kind": "exhibition",
            "title_cy": "Arddangosfa",
            "title_en": "Exhibition",
            "description_en": "Bring an apron.\r\nTea from 10:30.\n\n\tParking behind the hall.",
            "starts_at": f"{day}T10:00",
            "ends_at": f"{day}T12:00",
            "public": True,
        },
        expect=201,
    ).get_json()
    for response in (
        api.get(f"/groups/{group['id']}/calendar.ics?lang=en"),
        client.get(f"/public/groups/{group['id']}/calendar.ics?lang=en"),
    ):
        feed = parsed(response)
        assert calendar_name(feed) == "Paint, print; chat"
        found = vevents(feed)[event["id"]]
        assert str(found["DESCRIPTION"]) == "Bring an apron.\nTea from 10:30.\n\n\tParking behind the hall."
        assert b"DESCRIPTION:Bring an apron.\\nTea from 10:30.\\n\\n\tParking" in response.data


def test_names_titles_and_venues_stored_with_line_breaks_still_make_feeds_of_one_line_each(
    api, client, engine, group, make_event
):
    """Before the API refused a line break in a name, one could be stored: each feed shows it
    on one line (and a description without its control characters), never a 500."""
    event = make_event(public=True, title_cy="Diwrnod agored", title_en="Open day")
    with engine.begin() as conn:
        conn.execute(
            tables.groups.update()
            .where(tables.groups.c.id == uuid.UUID(group["id"]))
            .values(name_cy="Grŵp celf\r\nGlynebwy\x1b", name_en="\nEbbw Vale\u2028art group")
        )
        conn.execute(
            tables.events.update()
            .where(tables.events.c.id == uuid.UUID(event["id"]))
            .values(title_en="Open\nday\t", venue="The Hub,\vRoom 2", description_en="Line one\rLine two\x07")
        )
    feeds = {
        f"/groups/{group['id']}/calendar.ics": api.get,
        f"/public/groups/{group['id']}/calendar.ics": client.get,
        "/calendar.ics": api.get,
        "/public/calendar.ics": client.get,
    }
    for path, get in feeds.items():
        response = get(path)
        lines = response.get_data(as_text=True).replace("\r\n", "")  # CRLF ends each content line
        assert not re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029]", lines), path  # and nothing else breaks one
        feed = parsed(response)
        if "groups" in path:
            assert calendar_name(feed) == "Grŵp celf Glynebwy / Ebbw Vale art group"
        found = vevents(feed)[event["id"]]
        assert str(found["SUMMARY"]) == "Diwrnod agored / Open day", path
        assert str(found["LOCATION"]) == "The Hub, Room 2", path
        assert str(found["DESCRIPTION"]) == "Line one\nLine two", path


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
