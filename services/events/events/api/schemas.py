"""The API's bodies (marshmallow). Event schemas live in ``peerlink.contracts``."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from events.domain import text
from events.domain.registration import MAX_PLACES
from events.domain.schedule import DEFAULT_HORIZON_WEEKS, MAX_HORIZON_WEEKS
from events.domain.timing import DEFAULT_ZONE
from peerlink.contracts.sale import SALE_VOID_REASONS
from peerlink.contracts.vocabulary import (
    ART_EVENT_CANCEL_REASONS,
    ART_EVENT_KINDS,
    ATTENDANCE_STATUSES,
    LANGUAGES,
    SALE_KINDS,
)
from peerlink.web import paging

MAX_CAPACITY = 10_000
MAX_PENCE = 100_000_000  # a million pounds: anything above is a typing slip


class _Written(validate.Validator):
    """Text that fits where it is shown (see :mod:`events.domain.text`). Its ``regex`` is the
    field's ``pattern`` in the OpenAPI document (apispec reads it there)."""

    def __init__(self, regex: re.Pattern[str], error: str):
        self.regex, self.error = regex, error

    def __call__(self, value: str) -> str:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self.error)
        return value


_one_line = _Written(text.ONE_LINE, "Must be one line: no line breaks, tabs or other control characters.")
_paragraphs = _Written(text.PARAGRAPHS, "May hold line breaks and tabs, but no other control characters.")
_title = [validate.Length(min=1, max=200), _one_line]  # titles and venues
_text = [validate.Length(max=5000), _paragraphs]  # descriptions and access notes
_name = [validate.Length(min=1, max=120), _one_line]
_person_name = [validate.Length(min=1, max=100), _one_line]


def _optional_text(**kwargs: Any) -> fields.String:
    return fields.String(load_default=None, allow_none=True, validate=_text, **kwargs)


class _NotEmpty(Schema):
    """A PATCH body: at least one field."""

    @validates_schema
    def _something(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data:
            raise ValidationError("Give at least one field to change.", "_schema")


# Groups -----------------------------------------------------------------------------------


class GroupIn(Schema):
    name_cy = fields.String(required=True, validate=_name)
    name_en = fields.String(required=True, validate=_name)
    usual_venue = fields.String(required=True, validate=_title)
    accessibility_cy = _optional_text(metadata={"description": "Access to the venue, in Welsh (public)."})
    accessibility_en = _optional_text(metadata={"description": "Access to the venue, in English (public)."})
    facilitators = fields.List(
        fields.UUID(),
        load_default=list,
        validate=validate.Length(max=20),
        metadata={"description": "Person ids of the facilitators (participants or mentors)."},
    )


class GroupPatch(_NotEmpty):
    name_cy = fields.String(validate=_name)
    name_en = fields.String(validate=_name)
    usual_venue = fields.String(validate=_title)
    accessibility_cy = fields.String(allow_none=True, validate=_text)
    accessibility_en = fields.String(allow_none=True, validate=_text)
    facilitators = fields.List(fields.UUID(), validate=validate.Length(max=20))
    active = fields.Boolean(metadata={"description": "false archives the group: no new events."})


class GroupOut(Schema):
    id = fields.UUID()
    name_cy = fields.String()
    name_en = fields.String()
    usual_venue = fields.String()
    accessibility_cy = fields.String(allow_none=True)
    accessibility_en = fields.String(allow_none=True)
    facilitators = fields.List(fields.UUID())
    active = fields.Boolean()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class GroupQuery(Schema):
    active = fields.Boolean()


# Events -----------------------------------------------------------------------------------

_local_time = {
    "description": "ISO 8601. With an offset, that instant; without, a wall-clock time in `timezone`.",
}


class EventIn(Schema):
    group_id = fields.UUID(load_default=None, allow_none=True)
    kind = fields.String(required=True, validate=validate.OneOf(ART_EVENT_KINDS))
    title_cy = fields.String(required=True, validate=_title)
    title_en = fields.String(required=True, validate=_title)
    description_cy = _optional_text()
    description_en = _optional_text()
    venue = fields.String(
        load_default=None, validate=_title, metadata={"description": "Defaults to the group's usual venue."}
    )
    starts_at = fields.DateTime(required=True, metadata=_local_time)
    ends_at = fields.DateTime(required=True, metadata=_local_time)
    timezone = fields.String(load_default=DEFAULT_ZONE, validate=validate.Length(min=1, max=64))
    capacity = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_CAPACITY),
        metadata={"description": "Places; none for no limit."},
    )
    public = fields.Boolean(load_default=False, metadata={"description": "Open to the public (listed, guests)."})
    drop_in = fields.Boolean(load_default=False, metadata={"description": "No registration; heads are counted."})


class EventPatch(_NotEmpty):
    title_cy = fields.String(validate=_title)
    title_en = fields.String(validate=_title)
    description_cy = fields.String(allow_none=True, validate=_text)
    description_en = fields.String(allow_none=True, validate=_text)
    venue = fields.String(validate=_title)
    starts_at = fields.DateTime(metadata=_local_time)
    ends_at = fields.DateTime(metadata=_local_time)
    capacity = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=MAX_CAPACITY))
    public = fields.Boolean()
    drop_in = fields.Boolean()


class CancelEventIn(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(ART_EVENT_CANCEL_REASONS))


class EventOut(Schema):
    id = fields.UUID()
    group_id = fields.UUID(allow_none=True)
    series_id = fields.UUID(allow_none=True)
    occurrence_start = fields.AwareDateTime(
        allow_none=True, metadata={"description": "For a series: when the rule put it (its RECURRENCE-ID)."}
    )
    moved = fields.Boolean()
    kind = fields.String()
    title_cy = fields.String()
    title_en = fields.String()
    description_cy = fields.String(allow_none=True)
    description_en = fields.String(allow_none=True)
    venue = fields.String()
    starts_at = fields.AwareDateTime(metadata={"description": "In the event's own zone, with that day's offset."})
    ends_at = fields.AwareDateTime()
    timezone = fields.String()
    capacity = fields.Integer(strict=True, allow_none=True)
    public = fields.Boolean()
    drop_in = fields.Boolean()
    status = fields.String()
    cancel_reason = fields.String(allow_none=True)
    cancelled_at = fields.AwareDateTime(allow_none=True)
    places_confirmed = fields.Integer()
    places_left = fields.Integer(strict=True, allow_none=True)
    waiting = fields.Integer()
    revision = fields.Integer()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class EventQuery(Schema):
    group_id = fields.UUID()
    series_id = fields.UUID()
    kind = fields.String(validate=validate.OneOf(ART_EVENT_KINDS))
    status = fields.String(validate=validate.OneOf(["scheduled", "cancelled"]))
    public = fields.Boolean()
    starts_from = fields.Date(metadata={"description": "From this day (site time); default today."})
    starts_to = fields.Date(metadata={"description": "Up to and including this day."})
    # Query strings are text: these are read as numbers (JSON bodies' integers are strict).
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = paging.offset()


class EventPage(Schema):
    items = fields.List(fields.Nested(EventOut))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


# Series -----------------------------------------------------------------------------------


class SeriesIn(Schema):
    group_id = fields.UUID(required=True)
    kind = fields.String(load_default="group-session", validate=validate.OneOf(ART_EVENT_KINDS))
    title_cy = fields.String(required=True, validate=_title)
    title_en = fields.String(required=True, validate=_title)
    description_cy = _optional_text()
    description_en = _optional_text()
    venue = fields.String(load_default=None, validate=_title)
    capacity = fields.Integer(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(min=1, max=MAX_CAPACITY)
    )
    public = fields.Boolean(load_default=False)
    drop_in = fields.Boolean(load_default=False)
    rrule = fields.String(
        required=True,
        validate=validate.Length(min=6, max=500),
        metadata={"description": "An RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=TU (DAILY, WEEKLY or MONTHLY)."},
    )
    first_starts_at = fields.DateTime(
        required=True,
        metadata={"description": "The first session's wall-clock start (its DTSTART), e.g. 2027-10-19T10:00."},
    )
    duration_minutes = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=24 * 60))
    timezone = fields.String(load_default=DEFAULT_ZONE, validate=validate.Length(min=1, max=64))
    horizon_weeks = fields.Integer(
        strict=True,
        load_default=DEFAULT_HORIZON_WEEKS,
        validate=validate.Range(min=1, max=MAX_HORIZON_WEEKS),
        metadata={"description": "Sessions are made this many weeks ahead, and kept that far ahead."},
    )


class EndSeriesIn(Schema):
    after = fields.DateTime(
        load_default=None,
        allow_none=True,
        metadata={"description": "Cancel the sessions from this time (default: every one to come)."},
    )
    reason = fields.String(required=True, validate=validate.OneOf(ART_EVENT_CANCEL_REASONS))


class SeriesOut(Schema):
    id = fields.UUID()
    group_id = fields.UUID()
    kind = fields.String()
    title_cy = fields.String()
    title_en = fields.String()
    venue = fields.String()
    capacity = fields.Integer(strict=True, allow_none=True)
    public = fields.Boolean()
    drop_in = fields.Boolean()
    rrule = fields.String()
    first_starts_at = fields.AwareDateTime()
    duration_minutes = fields.Integer()
    timezone = fields.String()
    horizon_weeks = fields.Integer()
    scheduled_until = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    ended_at = fields.AwareDateTime(allow_none=True)
    end_reason = fields.String(allow_none=True)
    occurrences = fields.List(fields.Nested(EventOut), metadata={"description": "Sessions made, to come."})


class SeriesQuery(Schema):
    group_id = fields.UUID()


# Registrations ----------------------------------------------------------------------------


class GuestIn(Schema):
    given_name = fields.String(required=True, validate=_person_name)
    family_name = fields.String(load_default=None, allow_none=True, validate=_person_name)
    email = fields.Email(required=True, validate=validate.Length(max=254))
    phone = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^\+?[0-9 ()-]{7,20}$", error="Not a phone number."),
    )
    preferred_language = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(LANGUAGES))
    channels = fields.List(
        fields.String(validate=validate.OneOf(("email", "sms"))),
        load_default=lambda: ["email"],
        validate=validate.Length(min=1, max=2),
        metadata={"description": "How the guest agrees to hear about this event (reminders, changes)."},
    )

    @validates_schema
    def _texts_need_a_phone(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "sms" in data.get("channels", []) and not data.get("phone"):
            raise ValidationError("Texts need a phone number.", "phone")


class RegistrationIn(Schema):
    person_id = fields.UUID(load_default=None, allow_none=True, metadata={"description": "A participant."})
    guest = fields.Nested(GuestIn, load_default=None, allow_none=True, metadata={"description": "A public guest."})
    mentor_id = fields.UUID(
        load_default=None,
        allow_none=True,
        metadata={"description": "Book the participant's peer mentor with them (counted in places)."},
    )
    places = fields.Integer(
        strict=True,
        load_default=None,
        validate=validate.Range(min=1, max=MAX_PLACES),
        metadata={"description": "Default 1, or 2 with a mentor."},
    )

    @validates_schema
    def _one_registrant(self, data: dict[str, Any], **kwargs: Any) -> None:
        if (data.get("person_id") is None) == (data.get("guest") is None):
            raise ValidationError("Give a participant's person_id or a guest, not both.", "person_id")


class CancelRegistrationIn(Schema):
    reason = fields.String(
        load_default="by-participant", validate=validate.OneOf(("by-participant", "by-organiser", "other"))
    )


class GuestOut(Schema):
    id = fields.UUID()
    given_name = fields.String()
    family_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    preferred_language = fields.String(allow_none=True)
    channels = fields.List(fields.String())
    erased_at = fields.AwareDateTime(allow_none=True)


class AttendanceOut(Schema):
    id = fields.UUID()
    event_id = fields.UUID()
    registration_id = fields.UUID(allow_none=True)
    person_id = fields.UUID(allow_none=True)
    status = fields.String()
    headcount = fields.Integer()
    recorded_at = fields.AwareDateTime()
    assumed = fields.Boolean(
        metadata={"description": "A no-show assumed by the scheduler (still unmarked after the end), not marked."}
    )


class RegistrationOut(Schema):
    id = fields.UUID()
    event_id = fields.UUID()
    person_id = fields.UUID(allow_none=True)
    guest_id = fields.UUID(allow_none=True)
    guest = fields.Nested(
        GuestOut, allow_none=True, metadata={"description": "Coordinators and facilitators only (the door list)."}
    )
    mentor_id = fields.UUID(allow_none=True)
    places = fields.Integer()
    status = fields.String()
    position = fields.Integer(strict=True, allow_none=True, metadata={"description": "On the waiting list, 1 = next."})
    priority = fields.Boolean(metadata={"description": "First-time participant: ahead on the waiting list."})
    registered_at = fields.AwareDateTime()
    confirmed_at = fields.AwareDateTime(allow_none=True)
    waitlisted_at = fields.AwareDateTime(allow_none=True)
    promoted_at = fields.AwareDateTime(allow_none=True)
    cancelled_at = fields.AwareDateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    attendance = fields.Nested(AttendanceOut, allow_none=True)


class RegistrationQuery(Schema):
    status = fields.String(validate=validate.OneOf(("confirmed", "waitlisted", "cancelled")))


class RegistrationList(Schema):
    items = fields.List(fields.Nested(RegistrationOut))
    capacity = fields.Integer(strict=True, allow_none=True)
    places_confirmed = fields.Integer()
    places_left = fields.Integer(strict=True, allow_none=True)
    waiting = fields.Integer()


# Attendance -------------------------------------------------------------------------------


class AttendanceIn(Schema):
    status = fields.String(required=True, validate=validate.OneOf(ATTENDANCE_STATUSES))
    registration_id = fields.UUID(load_default=None, allow_none=True)
    headcount = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=10_000),
        metadata={"description": "Attended: who came of the registration's places (default all); drop-in: heads."},
    )


class AttendanceSummary(Schema):
    registered_places = fields.Integer()
    attended = fields.Integer(strict=True, metadata={"description": "Registrations that attended."})
    no_shows = fields.Integer()
    assumed_no_shows = fields.Integer(
        strict=True, metadata={"description": "Of the no-shows, those assumed by the scheduler."}
    )
    unmarked = fields.Integer()
    registered_heads = fields.Integer(strict=True, metadata={"description": "People who came on a registration."})
    drop_in_heads = fields.Integer()
    total_heads = fields.Integer()


class AttendanceRegister(Schema):
    items = fields.List(fields.Nested(RegistrationOut), metadata={"description": "Confirmed registrations."})
    drop_in = fields.Nested(AttendanceOut, allow_none=True)
    summary = fields.Nested(AttendanceSummary)


# Artworks, lots, sales --------------------------------------------------------------------


class CreditIn(Schema):
    credit = fields.String(
        required=True,
        validate=validate.OneOf(("name", "pseudonym", "anonymous")),
        metadata={"description": "How the artist agreed to be credited: by name only with their consent."},
    )
    artist_name = fields.String(
        load_default=None,
        allow_none=True,
        validate=_person_name,
        metadata={"description": "With credit 'name' only (otherwise not kept)."},
    )
    pseudonym = fields.String(
        load_default=None,
        allow_none=True,
        validate=_person_name,
        metadata={"description": "With credit 'pseudonym' only (otherwise not kept)."},
    )


class CreditChangeOut(Schema):
    credit = fields.String()
    changed_at = fields.AwareDateTime()
    changed_by = fields.String(metadata={"description": "The token's label, or the message (person.erased)."})
    role = fields.String()


class ArtworkIn(CreditIn):
    group_id = fields.UUID(load_default=None, allow_none=True)
    artist_person_id = fields.UUID(
        load_default=None, allow_none=True, metadata={"description": "The artist, if a participant or mentor."}
    )
    title = fields.String(required=True, validate=_title)
    medium = fields.String(load_default=None, allow_none=True, validate=[validate.Length(max=100), _one_line])
    artist_share_percent = fields.Integer(
        strict=True,
        required=True,
        validate=validate.Range(min=0, max=100),
        metadata={"description": "The artist's agreed share of every sale of this work (its cards too)."},
    )
    print_run = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=100_000),
        metadata={"description": "Cards printed of this design."},
    )


class ArtworkOut(Schema):
    id = fields.UUID()
    group_id = fields.UUID(allow_none=True)
    artist_person_id = fields.UUID(allow_none=True)
    credit = fields.String()
    credit_line_cy = fields.String(metadata={"description": "What labels and pages show."})
    credit_line_en = fields.String()
    artist_name = fields.String(allow_none=True)
    pseudonym = fields.String(allow_none=True)
    title = fields.String()
    medium = fields.String(allow_none=True)
    artist_share_percent = fields.Integer()
    print_run = fields.Integer(strict=True, allow_none=True)
    cards_sold = fields.Integer()
    cards_left = fields.Integer(strict=True, allow_none=True)
    status = fields.String()
    created_at = fields.AwareDateTime()


class ArtworkQuery(Schema):
    group_id = fields.UUID()
    status = fields.String(validate=validate.OneOf(("available", "sold", "withdrawn")))


_pence = validate.Range(min=1, max=MAX_PENCE)


class LotIn(Schema):
    artwork_id = fields.UUID(required=True)
    reserve_pence = fields.Integer(strict=True, load_default=None, allow_none=True, validate=_pence)
    opening_pence = fields.Integer(strict=True, load_default=None, allow_none=True, validate=_pence)


class BidIn(Schema):
    amount_pence = fields.Integer(strict=True, required=True, validate=_pence)
    paddle = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9-]{1,20}$", error="A bidder number such as 12 or B-7."),
        metadata={"description": "The bidder's paddle number: never a name."},
    )


class BidOut(Schema):
    id = fields.UUID()
    lot_id = fields.UUID()
    amount_pence = fields.Integer()
    paddle = fields.String()
    placed_at = fields.AwareDateTime()


class LotOut(Schema):
    id = fields.UUID()
    event_id = fields.UUID()
    artwork_id = fields.UUID()
    number = fields.Integer()
    reserve_pence = fields.Integer(strict=True, allow_none=True)
    opening_pence = fields.Integer(strict=True, allow_none=True)
    status = fields.String()
    bids = fields.Integer()
    highest_bid_pence = fields.Integer(strict=True, allow_none=True)
    reserve_met = fields.Boolean()
    created_at = fields.AwareDateTime()
    closed_at = fields.AwareDateTime(allow_none=True)
    winning_bid = fields.Nested(BidOut, allow_none=True)
    sale_id = fields.UUID(allow_none=True)


class CloseLotOut(Schema):
    lot = fields.Nested(LotOut)
    sale = fields.Raw(allow_none=True, metadata={"description": "The sale made, if the reserve was met."})


class SaleIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(SALE_KINDS))
    artwork_id = fields.UUID(load_default=None, allow_none=True)
    quantity = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1, max=10_000))
    unit_price_pence = fields.Integer(strict=True, required=True, validate=_pence)


class VoidSaleIn(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(SALE_VOID_REASONS))


class SaleOut(Schema):
    id = fields.UUID()
    event_id = fields.UUID()
    group_id = fields.UUID(allow_none=True)
    artwork_id = fields.UUID(allow_none=True)
    lot_id = fields.UUID(allow_none=True)
    kind = fields.String()
    quantity = fields.Integer()
    unit_price_pence = fields.Integer()
    amount_pence = fields.Integer()
    artist_share_pence = fields.Integer()
    scheme_share_pence = fields.Integer()
    recorded_at = fields.AwareDateTime()
    voided_at = fields.AwareDateTime(allow_none=True)
    void_reason = fields.String(allow_none=True)


class KindTotalOut(Schema):
    kind = fields.String()
    sales = fields.Integer()
    quantity = fields.Integer()
    amount_pence = fields.Integer()
    artist_share_pence = fields.Integer()
    scheme_share_pence = fields.Integer()


class TotalsOut(Schema):
    sales = fields.Integer()
    amount_pence = fields.Integer()
    artist_share_pence = fields.Integer()
    scheme_share_pence = fields.Integer()
    by_kind = fields.List(fields.Nested(KindTotalOut))


class EventSales(Schema):
    items = fields.List(fields.Nested(SaleOut))
    totals = fields.Nested(TotalsOut, metadata={"description": "Voided sales left out."})


class EventTotalOut(Schema):
    event_id = fields.UUID()
    title_en = fields.String()
    title_cy = fields.String()
    starts_at = fields.AwareDateTime()
    sales = fields.Integer()
    amount_pence = fields.Integer()
    artist_share_pence = fields.Integer()
    scheme_share_pence = fields.Integer()


class GroupSales(Schema):
    group_id = fields.UUID()
    totals = fields.Nested(TotalsOut)
    events = fields.List(fields.Nested(EventTotalOut))


class GroupSalesQuery(Schema):
    recorded_from = fields.Date()
    recorded_to = fields.Date(metadata={"description": "Up to and including this day (site time)."})


class CalendarQuery(Schema):
    lang = fields.String(
        validate=validate.OneOf(LANGUAGES),
        metadata={"description": "Titles in one language; both (Welsh first) if not given."},
    )
