"""The central office's figures: from every site's events to the reports, per site and for
the network; once per event whatever the duplicates; whatever the order; rebuilt by replay."""

import csv
import io
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from peerlink.contracts import CATALOGUE, Channel
from peerlink.testing import assert_migrations_match_models, count_rows, make_envelope, sample_data, sqlite_only
from reporting import store
from reporting.app import DEFINITION, main
from reporting.domain.projection import PROJECTORS
from reporting.replay import replay

YEAR = "from=2026-01-01&to=2026-12-31"


def get(client, reader, path, query=YEAR):
    response = client.get(f"{path}?{query}", headers=reader)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_migrations_build_exactly_the_models(database_url):
    assert_migrations_match_models(DEFINITION.migrations, database_url)


def test_every_pseudonymous_event_type_has_a_projection():
    pseudonymous = {t.name for t in CATALOGUE if t.channel is Channel.EVENTS}
    assert pseudonymous - set(PROJECTORS) == set(), "project it, or say why the log alone is enough"
    assert set(PROJECTORS) <= pseudonymous


def test_one_sites_figures(client, reader, engine, feed, site_story):
    feed(site_story("merthyr").envelopes)
    site = get(client, reader, "/reports", f"{YEAR}&small_numbers=show")["sites"]["merthyr"]
    referrals = site["referrals"]
    assert (referrals["received"], referrals["accepted"], referrals["declined"]) == (12, 10, 2)
    assert referrals["by_source"] == {"drug-alcohol-service": 2, "family": 2, "gp": 4, "probation": 2, "self": 2}
    assert referrals["by_need"] == {"alcohol": 6, "isolation": 6, "mental-health": 6}
    assert referrals["acceptance_rate"] == round(10 / 12, 3)
    assert site["waiting"] == {"matched": 7, "median_days_waiting": 18.0, "p90_days_waiting": 28.0, "waiting_at_end": 3}
    assert site["matches"]["active_at_end"] == 7 and site["matches"]["confirmed"] == 7
    mentors = site["mentors"]
    assert (mentors["active"], mentors["former_participants"], mentors["caseload_max"]) == (3, 1, 4)
    assert (mentors["caseload_mean"], mentors["caseload_spread"], mentors["capacity_used"]) == (2.33, 1.7, 0.778)
    assert site["sessions"] == {
        "held": 5,
        "held_by_kind": {"group-session": 5},
        "cancelled": 1,
        "attended": 25,
        "no_shows": 5,
        "drop_in_headcount": 6,
        "attendance_rate": round(25 / 30, 3),
    }
    money = site["money"]
    assert money["raised_by_kind_pence"] == {"auction": 12_500, "cards": 300, "other": 4_000}
    assert money["raised_pence"] == money["scheme_share_pence"] + money["artist_share_pence"] == 16_800


def test_the_networks_counts_are_the_sum_of_the_sites(client, reader, engine, feed, site_story):
    for site, scale in (("ebbw-vale", 1), ("merthyr", 2), ("pontypridd", 3)):
        feed(site_story(site, scale).envelopes)
    body = get(client, reader, "/reports", f"{YEAR}&small_numbers=show")
    assert list(body["sites"]) == ["ebbw-vale", "merthyr", "pontypridd"]

    def counts(figures, path=()):
        for key, value in figures.items():
            if isinstance(value, dict):
                yield from counts(value, (*path, key))
            elif isinstance(value, int) and not key.endswith(("_max",)):
                yield (*path, key), value

    network = dict(counts(body["network"]))
    summed: dict = {}
    for site_figures in body["sites"].values():
        for key, value in counts(site_figures):
            summed[key] = summed.get(key, 0) + value
    assert network == summed
    assert network[("referrals", "received")] == 12 * 6
    # Statistics are over every site's people, not a sum or a mean of the sites' own.
    assert body["network"]["waiting"]["matched"] == 7 + 14 + 20


@sqlite_only  # figures in Python: one store will do
def test_the_receiver_as_a_giver_by_the_kind_of_mentor_they_became(client, reader, feed, eventful_story):
    story = eventful_story("merthyr", busy=False)  # one joined as a volunteer and is paid now; one left
    story.mentor(kind="paid", former_participant=True, day=3)
    story.mentor(kind="volunteer", former_participant=True, day=4)
    story.mentor(kind="volunteer", day=4)  # never referred in
    feed(story.envelopes)
    mentors = get(client, reader, "/reports/mentors", f"{YEAR}&small_numbers=show")["sites"]["merthyr"]["mentors"]
    assert (mentors["active"], mentors["former_participants"]) == (4, 3)
    assert mentors["former_participants_by_kind"] == {"paid": 2, "volunteer": 1}  # what they are now
    assert mentors["former_participants_volunteer_to_paid"] == 1
    assert mentors["former_participants_registered"] == 3
    assert mentors["former_participants_registered_by_kind"] == {"paid": 1, "volunteer": 2}  # as they joined
    shared = get(client, reader, "/reports/mentors")["sites"]["merthyr"]["mentors"]
    assert shared["former_participants_by_kind"] == {"paid": "<5", "volunteer": "<5"}


@sqlite_only  # figures in Python: one store will do
def test_a_reopened_referral_is_open_until_it_closes_again(client, reader, feed, eventful_story):
    story = eventful_story("merthyr", busy=False)  # closed (disengaged), reopened, closed (completed)
    closing = [e for e in story.envelopes if e.type == "peerlink.referral.closed.v1"][-1]
    ids = {k: closing.data[k] for k in ("referral_id", "person_id")}
    feed(story.envelopes)

    def referral_figures(to: str):
        body = get(client, reader, "/reports", f"from=2026-01-01&to={to}&small_numbers=show")["sites"]["merthyr"]
        return body["referrals"]["closed_by_outcome"], body["waiting"]["waiting_at_end"]

    assert referral_figures("2026-12-31") == ({"completed": 1}, 0)
    reopened = story.emit(
        CATALOGUE["peerlink.referral.accepted.v1"], "referrals", ids["referral_id"], **ids, reentry=True,
        accepted_at=story.at(80),
    )  # fmt: skip
    feed([reopened])
    assert referral_figures("2026-12-31") == ({}, 1)  # open again, waiting for a mentor
    # The cohort's closings are as they stand now; who was waiting, as at the period's end.
    assert referral_figures("2026-05-20") == ({}, 0)


@sqlite_only  # figures in Python: one store will do
def test_a_possible_duplicate_counts_for_whoever_a_coordinator_said_it_is_whatever_the_order(
    client, reader, engine, feed, eventful_story
):
    """A referral linked to someone known, then found to be a namesake's (a person of their own)
    or hers (another age band, from her record): its person and age band are the answer's, even
    when the answer arrives before the referral; the namesake's attendance counts, as someone
    the central office knows."""
    story = eventful_story("merthyr", busy=False)
    answers = [e for e in story.envelopes if e.type == "peerlink.referral.person-resolved.v1"]
    namesake = next(e.data["person_id"] for e in answers if e.data["resolution"] == "different-person")
    session = story.session(day=20)
    story.emit(
        CATALOGUE["peerlink.attendance.recorded.v1"], "events", session, event_id=session,
        person_id=namesake, status="attended", headcount=1, recorded_at=story.at(20),
    )  # fmt: skip
    late = [e for e in story.envelopes if e.type == "peerlink.referral.received.v1" and e.data["known_person"]]
    # The answer alone moves the referral: nothing the namesake's referral said since (a decline) is fed.
    since = [
        e for e in story.envelopes if e.type == "peerlink.referral.declined.v1" and e.data["person_id"] == namesake
    ]
    feed([e for e in story.envelopes if e not in late + since])
    feed(late)  # a retry: the referrals arrive after their answers

    referrals = store.model("referrals")
    answered = [uuid.UUID(e.data["referral_id"]) for e in answers]
    with engine.connect() as conn:
        rows = {
            str(r.referral_id): r
            for r in conn.execute(sa.select(referrals).where(referrals.c.referral_id.in_(answered)))
        }
    for answer in answers:
        row, said = rows[answer.data["referral_id"]], answer.data
        assert (str(row.person_id), row.age_band, row.source) == (said["person_id"], said["age_band"], "self")
        assert row.known_person is (said["resolution"] == "same-person")
    figures = get(client, reader, "/reports", f"{YEAR}&small_numbers=show")["sites"]["merthyr"]
    assert figures["referrals"]["by_age_band"]["25-34"] >= 1 and "18-24" not in figures["referrals"]["by_age_band"]
    assert figures["sessions"]["attended"] == 3  # the namesake, and the two of the story's booking


def test_small_numbers_are_hidden_unless_asked_for(client, reader, engine, feed, site_story):
    feed(site_story("merthyr").envelopes)
    shared = get(client, reader, "/reports/referrals")["sites"]["merthyr"]["referrals"]
    assert shared["received"] == 12 and shared["by_source"]["gp"] == "<5" and shared["declined"] == "<5"
    assert shared["acceptance_rate"] == round(10 / 12, 3)
    money = get(client, reader, "/reports/money")["sites"]["merthyr"]["money"]
    assert money["raised_by_kind_pence"]["cards"] == 300  # money is not a count of people


def test_an_event_received_twice_counts_once(client, reader, engine, feed, site_story):
    story = site_story("merthyr")
    feed(story.envelopes)
    feed(story.envelopes[:40])
    assert count_rows(engine, store.event_log) == len(story.envelopes)
    assert (
        get(client, reader, "/reports/referrals", f"{YEAR}&small_numbers=show")["network"]["referrals"]["received"]
        == 12
    )


def test_the_order_of_arrival_does_not_change_the_figures_and_replay_rebuilds_them(
    client, reader, engine, feed, site_story
):
    stories = [site_story("ebbw-vale"), site_story("merthyr", 2)]
    envelopes = [e for story in stories for e in story.envelopes]
    shuffled = envelopes[:]
    random.Random(7).shuffle(shuffled)
    for start in range(0, len(shuffled), 37):  # batches, as a consumer would take them
        feed(shuffled[start : start + 37])
    out_of_order = get(client, reader, "/reports", f"{YEAR}&small_numbers=show")

    done = replay(engine, page=50)
    assert done.events == len(envelopes) and done.skipped == 0
    assert get(client, reader, "/reports", f"{YEAR}&small_numbers=show") == out_of_order

    with engine.begin() as conn:
        store.clear_read_models(conn)
    emptied = get(client, reader, "/reports", f"{YEAR}&small_numbers=show")
    assert emptied["network"]["referrals"]["received"] == 0
    replay(engine)
    in_order = get(client, reader, "/reports", f"{YEAR}&small_numbers=show")
    assert in_order == out_of_order


def test_every_report_has_a_csv_variant(client, reader, engine, feed, site_story):
    feed(site_story("merthyr").envelopes)
    for path in ("/reports", "/reports/referrals", "/reports/money", "/reports/sessions", "/reports/mentors"):
        response = client.get(f"{path}.csv?{YEAR}&small_numbers=show", headers=reader)
        assert response.status_code == 200 and response.mimetype == "text/csv"
        rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
        assert rows and set(rows[0]) == {"from", "to", "site", "section", "figure", "breakdown", "value"}
    rows = list(
        csv.DictReader(io.StringIO(client.get(f"/reports/referrals.csv?{YEAR}", headers=reader).get_data(True)))
    )
    by_key = {(r["site"], r["figure"], r["breakdown"]): r["value"] for r in rows}
    assert by_key[("merthyr", "received", "")] == "12"
    assert by_key[("network", "by_source", "gp")] == "<5"


def test_sections_and_sites_can_be_chosen(client, reader, engine, feed, site_story):
    for site in ("ebbw-vale", "merthyr"):
        feed(site_story(site).envelopes)
    body = get(client, reader, "/reports/waiting", f"{YEAR}&site=merthyr")
    assert list(body["sites"]) == ["merthyr"] and list(body["network"]) == ["waiting"]
    before = get(client, reader, "/reports/referrals", "from=2025-01-01&to=2025-12-31")
    assert before["network"]["referrals"]["received"] == 0


def test_a_period_is_its_days_whole_from_the_first_to_the_last(client, reader, feed):
    """``from`` and ``to`` are both included, to the last microsecond of ``to``; an instant
    either side is not (times in UTC)."""
    first, last = datetime(2026, 3, 5, tzinfo=UTC), datetime(2026, 3, 7, tzinfo=UTC)
    tick = timedelta(microseconds=1)
    moments = {
        "just before": first - tick,
        "first instant": first,
        "last instant": last + timedelta(days=1) - tick,
        "just after": last + timedelta(days=1),
    }

    def happened(name: str, **data):
        event_type = CATALOGUE[f"peerlink.{name}.v1"]
        return make_envelope(event_type, sample_data(event_type, **data), site="merthyr")

    feed(
        [
            envelope
            for at in moments.values()
            for envelope in (
                happened("referral.received", received_at=at, counted_in_figures=True),
                happened(
                    "sale.recorded",
                    recorded_at=at,
                    kind="cards",
                    amount_pence=100,
                    artist_share_pence=0,
                    scheme_share_pence=100,
                ),
                happened("artevent.scheduled", starts_at=at, ends_at=at + timedelta(hours=2), kind="group-session"),
            )
        ]
    )
    body = get(client, reader, "/reports", "from=2026-03-05&to=2026-03-07&small_numbers=show")
    assert (body["from"], body["to"]) == ("2026-03-05", "2026-03-07")
    site = body["sites"]["merthyr"]
    assert site["referrals"]["received"] == 2
    assert (site["money"]["sales"], site["money"]["raised_pence"]) == (2, 200)
    assert site["sessions"]["held"] == 2
    one_day = get(client, reader, "/reports/referrals", "from=2026-03-07&to=2026-03-07&small_numbers=show")
    assert one_day["sites"]["merthyr"]["referrals"]["received"] == 1  # the last instant alone


def test_the_log_says_what_the_central_office_holds(client, reader, engine, feed, site_story):
    story = site_story("pontypridd")
    feed(story.envelopes)
    held = client.get("/reports/log", headers=reader).get_json()
    assert held["total"] == len(story.envelopes)
    assert held["sites"]["pontypridd"]["peerlink.referral.received.v1"] == 12


@pytest.mark.parametrize(
    "query",
    ["from=yesterday", "to=2026-13-01", "from=2026-05-01&to=2026-04-01", "site=Not+A+Slug", "small_numbers=all"],
)
def test_bad_queries_are_problems(client, reader, query):
    response = client.get(f"/reports?{query}", headers=reader)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.get_json()["errors"][0]["parameter"]


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 401),
        (("coordinator", "ebbw-vale"), 403),
        (("central-reader", "ebbw-vale"), 403),
        (("service", "ebbw-vale"), 403),
    ],
)
def test_only_central_readers_of_this_office_see_the_figures(client, tokens, who, status):
    headers = tokens.header(*who) if who else {}
    for path in ("/reports", "/reports/referrals.csv", "/reports/log"):
        assert client.get(path, headers=headers).status_code == status


def test_replay_is_a_command(app, engine, database_url, monkeypatch, feed, site_story):
    feed(site_story("merthyr").envelopes)
    monkeypatch.setenv("PEERLINK_SITE", "central")
    monkeypatch.setenv("PEERLINK_DATABASE_URL", database_url)
    result = CliRunner().invoke(main, ["replay"])
    assert result.exit_code == 0, result.output
    assert f"{len(site_story('merthyr').envelopes)} events replayed" in result.output
