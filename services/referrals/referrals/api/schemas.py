"""The API's bodies (marshmallow). Event schemas live in ``peerlink.contracts``."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from peerlink.audit import AuditEntryOut, AuditPage
from peerlink.contracts.referral import REFERRAL_STATUSES
from peerlink.contracts.vocabulary import (
    ADVOCACY_CATEGORIES,
    ADVOCACY_RESOLUTIONS,
    AVAILABILITY_SLOTS,
    CHECK_IN_TIMEPOINTS,
    CLOSURE_OUTCOMES,
    CONTACT_CHANNELS,
    DECLINE_REASONS,
    INTERESTS,
    LANGUAGES,
    MENTOR_GENDER_PREFERENCES,
    REFERRAL_SOURCES,
    RISK_FLAGS,
    SUPPORT_NEEDS,
    WITHDRAW_REASONS,
)
from peerlink.web import paging
from referrals.domain.duplicates import DECISIONS

_name = validate.Length(min=1, max=100)
_note = fields.String(
    load_default=None, allow_none=True, validate=validate.Length(max=2000), metadata={"description": "Seen only here."}
)


def codes(choices: tuple[str, ...], **kwargs: object) -> fields.List:
    return fields.List(
        fields.String(validate=validate.OneOf(choices)),
        validate=validate.Length(max=len(choices)),
        **kwargs,  # type: ignore[arg-type]
    )


# Intake ---------------------------------------------------------------------------------


class ContactIn(Schema):
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    phone = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^\+?[0-9 ()-]{7,20}$", error="Not a phone number."),
    )
    channels = codes(
        CONTACT_CHANNELS,
        required=True,
        metadata={"description": "The channels the person agrees to be contacted on (may be empty)."},
    )
    safe_to_text = fields.Boolean(load_default=False, metadata={"description": "Whether a text to this phone is safe."})


class PersonIn(Schema):
    given_name = fields.String(required=True, validate=_name)
    family_name = fields.String(required=True, validate=_name)
    date_of_birth = fields.Date(required=True)
    preferred_language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    contact = fields.Nested(ContactIn, required=True)


class ConsentIn(Schema):
    share_with_mentor = fields.Boolean(
        required=True,
        # Documented as the only value taken (intake refuses a referral without it), so that a
        # client, or the fuzzer, reads from the document what a referral needs.
        metadata={"description": "Consent to share the referral with the peer mentoring team.", "enum": [True]},
    )
    share_with_gp = fields.Boolean(load_default=False, metadata={"description": "Consent to share with the GP."})
    counted_in_figures = fields.Boolean(
        required=True, metadata={"description": "Consent to be counted in the central office's anonymised figures."}
    )
    wording_version = fields.String(
        required=True, validate=validate.Length(min=1, max=40), metadata={"description": "The consent text agreed to."}
    )


class PreferencesIn(Schema):
    mentor_gender = fields.String(load_default="no-preference", validate=validate.OneOf(MENTOR_GENDER_PREFERENCES))
    welsh_speaking_mentor = fields.Boolean(load_default=False)


class ReferralIn(Schema):
    site = fields.String(required=True, metadata={"description": "The site slug; must be this instance's site."})
    person = fields.Nested(PersonIn, required=True)
    source = fields.String(required=True, validate=validate.OneOf(REFERRAL_SOURCES))
    support_needs = fields.List(
        fields.String(validate=validate.OneOf(SUPPORT_NEEDS)),
        required=True,
        validate=validate.Length(min=1, max=len(SUPPORT_NEEDS)),
    )
    interests = codes(INTERESTS, load_default=list)
    availability = codes(AVAILABILITY_SLOTS, load_default=list)
    preferences = fields.Nested(PreferencesIn, load_default=lambda: {})
    consent = fields.Nested(ConsentIn, required=True)
    risk_flags = codes(RISK_FLAGS, load_default=list, metadata={"description": "Seen by coordinators only."})
    risk_note = _note


# Referrals out --------------------------------------------------------------------------


class ConsentOut(Schema):
    share_with_mentor = fields.Boolean()
    share_with_gp = fields.Boolean()
    counted_in_figures = fields.Boolean()
    wording_version = fields.String()
    given_at = fields.AwareDateTime()
    review_on = fields.Date(allow_none=True, metadata={"description": "Asked again at 18 (referred at 16 or 17)."})


class PreferencesOut(Schema):
    mentor_gender = fields.String()
    welsh_speaking_mentor = fields.Boolean()


class ReferralOut(Schema):
    id = fields.UUID()
    person_id = fields.UUID()
    site = fields.String()
    source = fields.String()
    support_needs = fields.List(fields.String())
    interests = fields.List(fields.String())
    availability = fields.List(fields.String())
    preferences = fields.Nested(PreferencesOut)
    status = fields.String(metadata={"enum": list(REFERRAL_STATUSES)})
    allowed_actions = fields.List(fields.String())
    priority = fields.Boolean()
    age_band = fields.String()
    consent = fields.Nested(ConsentOut)
    self_referral = fields.Boolean()
    known_person = fields.Boolean(metadata={"description": "Linked to a person referred before."})
    duplicate_of = fields.UUID(allow_none=True, metadata={"description": "Their referral that was still open."})
    duplicate_pending = fields.Boolean(
        metadata={
            "description": "Linked to someone already known; a coordinator has yet to say whether it is the same "
            "person (GET /referrals/{id}/duplicate-check). Until then it cannot be accepted or declined."
        }
    )
    received_at = fields.AwareDateTime()
    accepted_at = fields.AwareDateTime(allow_none=True)
    matched_at = fields.AwareDateTime(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    outcome = fields.String(allow_none=True)
    current_match_id = fields.UUID(allow_none=True)
    risk_flags = fields.List(fields.String(), metadata={"description": "Coordinators only."})
    risk_note = fields.String(allow_none=True, metadata={"description": "Coordinators only."})


class ReferralQuery(Schema):
    status = fields.String(validate=validate.OneOf(REFERRAL_STATUSES))
    source = fields.String(validate=validate.OneOf(REFERRAL_SOURCES))
    need = fields.String(validate=validate.OneOf(SUPPORT_NEEDS))
    received_from = fields.Date()
    received_to = fields.Date()
    triage_overdue = fields.Boolean(
        metadata={"description": "Received and not triaged for more than 14 days (or, false, the rest)."}
    )
    consent_review_due = fields.Boolean(
        metadata={"description": "Referred at 16 or 17, now 18: consent to be asked for again."}
    )
    duplicate_pending = fields.Boolean(
        metadata={"description": "Linked to someone known and waiting for a coordinator to say who it is."}
    )
    sort = fields.String(
        load_default="-received_at",
        validate=validate.OneOf(["received_at", "-received_at", "accepted_at", "-accepted_at", "status", "-status"]),
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = paging.offset()


class ReferralPage(Schema):
    items = fields.List(fields.Nested(ReferralOut))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


# Transitions ----------------------------------------------------------------------------


class AcceptIn(Schema):
    priority = fields.Boolean(load_default=False, metadata={"description": "Ahead of the waiting list."})
    note = _note


class DeclineIn(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(DECLINE_REASONS))
    note = _note


class WithdrawIn(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(WITHDRAW_REASONS))
    note = _note


class StartIn(Schema):
    note = _note


class CloseIn(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(CLOSURE_OUTCOMES))
    note = _note


class ReopenIn(Schema):
    priority = fields.Boolean(load_default=False)
    note = _note


class TransitionOut(Schema):
    id = fields.UUID()
    action = fields.String()
    from_status = fields.String()
    to_status = fields.String()
    at = fields.AwareDateTime()
    actor = fields.String()
    reason = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


# The waiting list ---------------------------------------------------------------------------


class WaitingOut(Schema):
    referral_id = fields.UUID()
    person_id = fields.UUID()
    priority = fields.Boolean()
    accepted_at = fields.AwareDateTime()
    days_waiting = fields.Integer()
    support_needs = fields.List(fields.String())
    preferred_language = fields.String()


class WaitingListOut(Schema):
    items = fields.List(fields.Nested(WaitingOut))
    waiting = fields.Integer()
    priority = fields.Integer()
    median_wait_days = fields.Float(
        allow_none=True, metadata={"description": "Median days from acceptance to a match, over the last 365 days."}
    )
    matches_counted = fields.Integer()


# People, advocacy, check-ins -------------------------------------------------------------------


class ContactOut(Schema):
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    channels = fields.List(fields.String())
    safe_to_text = fields.Boolean()


class PersonOut(Schema):
    id = fields.UUID()
    given_name = fields.String()
    family_name = fields.String()
    date_of_birth = fields.Date(allow_none=True)
    preferred_language = fields.String()
    contact = fields.Nested(ContactOut)
    erased_at = fields.AwareDateTime(allow_none=True)


class TimelineEntry(Schema):
    at = fields.AwareDateTime()
    kind = fields.String(
        metadata={
            "enum": [
                "referral",
                "transition",
                "advocacy-opened",
                "advocacy-resolved",
                "check-in",
                "possible-duplicate",
                "duplicate-resolved",
            ]
        }
    )
    referral_id = fields.UUID(allow_none=True)
    detail = fields.Dict()


class PersonTimeline(Schema):
    person = fields.Nested(PersonOut)
    referrals = fields.List(fields.Nested(ReferralOut))
    timeline = fields.List(fields.Nested(TimelineEntry))


# Possible duplicates ------------------------------------------------------------------------


class ResolveDuplicateIn(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(DECISIONS))
    apply_contact_details = fields.Boolean(
        load_default=False,
        metadata={
            "description": "With same-person: the contact details given with the referral replace the ones "
            "known (otherwise nothing about the person changes)."
        },
    )

    @validates_schema
    def _details_only_for_the_same_person(self, data: dict, **_: object) -> None:
        if data.get("apply_contact_details") and data.get("decision") != "same-person":
            raise ValidationError(
                "Only with same-person: a different person gets the details as their own.", "apply_contact_details"
            )


class ProposedDetailsOut(Schema):
    given_name = fields.String()
    family_name = fields.String()
    date_of_birth = fields.Date()
    preferred_language = fields.String()
    contact = fields.Nested(ContactOut)


class DuplicateCheckOut(Schema):
    referral_id = fields.UUID()
    person_id = fields.UUID(metadata={"description": "The person the referral was linked to."})
    matched_on = fields.List(fields.String(metadata={"enum": ["name-and-date-of-birth", "email", "phone"]}))
    flagged_at = fields.AwareDateTime()
    status = fields.String(metadata={"enum": ["pending", *DECISIONS, "erased"]})
    proposed = fields.Nested(
        ProposedDetailsOut,
        allow_none=True,
        metadata={"description": "The details given with the referral, kept only until it is resolved."},
    )
    resolved_at = fields.AwareDateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    contact_details_applied = fields.Boolean()
    new_person_id = fields.UUID(allow_none=True, metadata={"description": "A different person: theirs."})
    referral = fields.Nested(ReferralOut, metadata={"description": "The referral as it is now (when resolving)."})


class AdvocacyIn(Schema):
    category = fields.String(required=True, validate=validate.OneOf(ADVOCACY_CATEGORIES))
    summary = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ResolveIn(Schema):
    resolution = fields.String(required=True, validate=validate.OneOf(ADVOCACY_RESOLUTIONS))


class AdvocacyOut(Schema):
    id = fields.UUID()
    person_id = fields.UUID()
    category = fields.String()
    summary = fields.String(allow_none=True)
    opened_at = fields.AwareDateTime()
    resolved_at = fields.AwareDateTime(allow_none=True)
    resolution = fields.String(allow_none=True)
    is_open = fields.Boolean()


class CheckInIn(Schema):
    timepoint = fields.String(required=True, validate=validate.OneOf(CHECK_IN_TIMEPOINTS))
    answers = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(strict=True),
        required=True,
        metadata={"description": "Each item's code of the site's scale (GET /outcome-scale) with its answer."},
    )


class CheckInOut(Schema):
    id = fields.UUID()
    timepoint = fields.String()
    answers = fields.Dict(keys=fields.String(), values=fields.Integer())
    score = fields.Integer()
    maximum = fields.Integer()
    baseline_score = fields.Integer(allow_none=True)
    change = fields.Integer(allow_none=True)
    recorded_at = fields.AwareDateTime()


class CheckInsOut(Schema):
    items = fields.List(fields.Nested(CheckInOut))
    next_due = fields.Date(allow_none=True)


class ScaleItemOut(Schema):
    code = fields.String()
    en = fields.String()
    cy = fields.String()


class ScaleOut(Schema):
    id = fields.String()
    name = fields.String()
    minimum = fields.Integer()
    maximum = fields.Integer()
    items = fields.List(fields.Nested(ScaleItemOut))


# Figures ------------------------------------------------------------------------------------


class FiguresQuery(Schema):
    received_from = fields.Date(metadata={"description": "First day of the cohort (default: a year ago)."})
    received_to = fields.Date(metadata={"description": "Last day of the cohort (default: today)."})


class WaitOut(Schema):
    count = fields.Integer()
    median_days = fields.Float(allow_none=True)
    p90_days = fields.Float(allow_none=True)


class FiguresOut(Schema):
    received_from = fields.Date()
    received_to = fields.Date()
    received = fields.Integer()
    accepted = fields.Integer()
    declined = fields.Integer()
    withdrawn_before_triage = fields.Integer()
    acceptance_rate = fields.Float(allow_none=True, metadata={"description": "Accepted of those triaged."})
    median_days_to_triage = fields.Float(allow_none=True)
    awaiting_triage = fields.Integer()
    triage_overdue = fields.Integer(metadata={"description": "Waiting for triage for more than 14 days."})
    matched = fields.Integer()
    wait_for_a_mentor = fields.Nested(WaitOut, metadata={"description": "Days from acceptance to a match."})
    wait_by_source = fields.Dict(keys=fields.String(), values=fields.Nested(WaitOut))
    disengaged = fields.Integer(metadata={"description": "Closed with the outcome 'disengaged'."})
    consent_reviews_due = fields.Integer()


# The audit log -------------------------------------------------------------------------------


class PersonAuditEntryOut(AuditEntryOut):
    referral_id = fields.UUID(allow_none=True, metadata={"description": "The referral it touched (related_id)."})


class PersonAuditPage(AuditPage):
    items = fields.List(fields.Nested(PersonAuditEntryOut))
