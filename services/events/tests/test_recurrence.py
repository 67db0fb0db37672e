"""Weekly sessions from an RFC 5545 rule, in wall-clock time across the clock changes (no database)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from events.domain.recurrence import InvalidRule, parse_rule
from events.domain.timing import InvalidTime, exists, from_wall, instant

LONDON = ZoneInfo("Europe/London")
# British Summer Time ends at 02:00 BST on Sunday 31 October 2027 and starts at 01:00 GMT on
# Sunday 26 March 2028.
AUTUMN_CHANGE = datetime(2027, 10, 31, 1, 0, tzinfo=UTC)
SPRING_CHANGE = datetime(2028, 3, 26, 1, 0, tzinfo=UTC)


def sessions(rule: str, first: datetime, until: datetime, after: datetime | None = None):
    return list(parse_rule(rule, first, LONDON).occurrences(first, LONDON, until=until, after=after))


def test_a_tuesday_session_stays_at_ten_oclock_through_the_october_and_march_clock_changes():
    found = sessions("FREQ=WEEKLY;BYDAY=TU", datetime(2027, 10, 19, 10, 0), until=datetime(2028, 4, 12, tzinfo=UTC))
    assert len(found) == 26
    for occurrence in found:
        local = occurrence.starts_at.astimezone(LONDON)
        assert (local.weekday(), local.hour, local.minute) == (1, 10, 0), occurrence
        assert occurrence.wall == local.replace(tzinfo=None)
    summer = [o for o in found if o.starts_at < AUTUMN_CHANGE or o.starts_at > SPRING_CHANGE]
    winter = [o for o in found if AUTUMN_CHANGE < o.starts_at < SPRING_CHANGE]
    assert {o.starts_at.hour for o in summer} == {9}  # 10:00 BST
    assert {o.starts_at.hour for o in winter} == {10}  # 10:00 GMT
    assert [o.starts_at.date().isoformat() for o in found[1:4]] == ["2027-10-26", "2027-11-02", "2027-11-09"]
    assert found[1].starts_at == datetime(2027, 10, 26, 9, 0, tzinfo=UTC)
    assert found[2].starts_at == datetime(2027, 11, 2, 10, 0, tzinfo=UTC)
    assert found[-3].starts_at == datetime(2028, 3, 28, 9, 0, tzinfo=UTC)  # the Tuesday after the spring change


def test_a_session_on_the_morning_the_clocks_change_follows_rfc_5545():
    # 01:30 happens twice on 31 October 2027: the first (BST) is meant.
    repeated = sessions("FREQ=DAILY;COUNT=1", datetime(2027, 10, 31, 1, 30), until=datetime(2027, 11, 1, tzinfo=UTC))
    assert repeated[0].starts_at == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    # 01:30 never happens on 26 March 2028: read with the offset before the gap, it is 02:30 BST.
    skipped = sessions("FREQ=DAILY;COUNT=2", datetime(2028, 3, 25, 1, 30), until=datetime(2028, 3, 28, tzinfo=UTC))
    assert [o.starts_at for o in skipped] == [
        datetime(2028, 3, 25, 1, 30, tzinfo=UTC),
        datetime(2028, 3, 26, 1, 30, tzinfo=UTC),
    ]
    assert skipped[1].starts_at.astimezone(LONDON).strftime("%H:%M %Z") == "02:30 BST"


def test_count_until_interval_and_monthly_rules():
    first = datetime(2027, 10, 19, 10, 0)
    counted = sessions("FREQ=WEEKLY;BYDAY=TU;COUNT=3", first, until=datetime(2028, 12, 1, tzinfo=UTC))
    assert len(counted) == 3
    # UNTIL as a date is that whole day in the series' zone; in UTC it is converted (RFC 5545).
    until_day = sessions("RRULE:FREQ=WEEKLY;BYDAY=TU;UNTIL=20271102", first, until=datetime(2028, 12, 1, tzinfo=UTC))
    assert until_day[-1].starts_at.date().isoformat() == "2027-11-02"
    assert parse_rule("FREQ=WEEKLY;UNTIL=20271102", first, LONDON).text == "FREQ=WEEKLY;UNTIL=20271102T235959Z"
    fortnightly = sessions("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", first, until=datetime(2027, 12, 1, tzinfo=UTC))
    assert [o.starts_at.day for o in fortnightly] == [19, 2, 16, 30]
    first_saturdays = sessions("FREQ=MONTHLY;BYDAY=1SA", first, until=datetime(2028, 2, 1, tzinfo=UTC))
    assert [o.starts_at.date().isoformat() for o in first_saturdays] == ["2027-11-06", "2027-12-04", "2028-01-01"]
    last_weekday = sessions(
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", first, until=datetime(2028, 1, 1, tzinfo=UTC)
    )
    assert [o.starts_at.date().isoformat() for o in last_weekday] == ["2027-10-29", "2027-11-30", "2027-12-31"]


def test_after_leaves_out_what_was_already_made():
    first = datetime(2027, 10, 19, 10, 0)
    everything = sessions("FREQ=WEEKLY", first, until=datetime(2027, 12, 1, tzinfo=UTC))
    later = sessions("FREQ=WEEKLY", first, until=datetime(2027, 12, 1, tzinfo=UTC), after=everything[2].starts_at)
    assert later == everything[3:]


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ("FREQ=HOURLY", "FREQ must be one of"),
        ("FREQ=WEEKLY;INTERVAL=0", "INTERVAL"),
        ("FREQ=WEEKLY;COUNT=10000", "COUNT"),
        ("FREQ=WEEKLY;COUNT=3;UNTIL=20271231", "COUNT and UNTIL"),
        ("FREQ=WEEKLY;BYHOUR=9", "BYHOUR is not supported"),
        ("FREQ=WEEKLY;BYDAY=XX", "BYDAY"),
        ("FREQ=WEEKLY;BYDAY=1TU", "numbered BYDAY"),
        ("FREQ=WEEKLY;BYMONTHDAY=3", "BYMONTHDAY cannot be used with FREQ=WEEKLY"),
        ("FREQ=MONTHLY;BYMONTH=13", "BYMONTH"),
        # dateutil would search until the year 9999 for these, for seconds of CPU each:
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "No month has those days"),
        ("FREQ=MONTHLY;BYMONTH=4,6;BYMONTHDAY=31", "No month has those days"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6", "BYSETPOS is beyond"),
        ("FREQ=WEEKLY;UNTIL=20270101", "UNTIL is before the first session"),
        ("FREQ=WEEKLY;UNTIL=20271399", "not a real date"),
        ("FREQ=WEEKLY\nEXDATE:20271026", "one RRULE"),
        ("FREQ=WEEKLY;FREQ=DAILY", "given twice"),
        ("DTSTART=20271019T100000", "DTSTART is not supported"),
    ],
)
def test_a_rule_that_cannot_make_a_calendar_of_sessions_is_refused_saying_why(rule, says):
    with pytest.raises(InvalidRule, match=says):
        parse_rule(rule, datetime(2027, 10, 19, 10, 0), LONDON)


def test_a_wall_time_the_clocks_skip_is_refused_when_typed_for_one_event():
    assert not exists(datetime(2028, 3, 26, 1, 30), LONDON)
    with pytest.raises(InvalidTime, match="clocks go forward"):
        instant(datetime(2028, 3, 26, 1, 30), LONDON, "starts_at")
    assert instant(datetime(2027, 7, 1, 10, 0), LONDON, "starts_at") == datetime(2027, 7, 1, 9, 0, tzinfo=UTC)
    given_with_offset = datetime(2027, 7, 1, 10, 0, tzinfo=UTC) + timedelta()
    assert instant(given_with_offset, LONDON, "starts_at") == given_with_offset
    assert from_wall(datetime(2027, 12, 1, 10, 0), LONDON) == datetime(2027, 12, 1, 10, 0, tzinfo=UTC)
