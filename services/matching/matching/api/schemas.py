"""The API's bodies (marshmallow). Event schemas live in ``peerlink.contracts``."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from matching.domain.feedback import HELPED, SIDES
from matching.domain.matches import MatchStatus
from matching.domain.mentors import GENDERS, MentorStatus
from matching.domain.policy import CRITERIA, CRITERION_DESCRIPTIONS, GENDER_PREFERENCE_MODES
from matching.domain.requests import RequestStatus
from peerlink.contracts.vocabulary import (
    AVAILABILITY_SLOTS,
    CONTACT_CHANNELS,
    INTERESTS,
    LANGUAGES,
    MATCH_DECLINE_REASONS,
    MATCH_DECLINED_BY,
    MATCH_END_REASONS,
    MENTOR_KINDS,
    MENTOR_LEAVE_REASONS,
    MENTOR_PAUSE_REASONS,
    SUPPORT_NEEDS,
)
from peerlink.web import paging

# Reasons a person gives for ending a match; the others come with their own action.
END_BY_HAND = tuple(
    r for r in MATCH_END_REASONS if r not in ("mentor-paused", "mentor-left", "referral-withdrawn", "referral-closed")
)
CONFLICT_REASONS = (
    "shared-network",
    "family-or-friend",
    "former-partner",
    "safeguarding",
    "conflict-of-interest",
    "other",
)


def codes(choices: tuple[str, ...], *, minimum: int = 0, **kwargs: object) -> fields.List:
    return fields.List(
        fields.String(validate=validate.OneOf(choices)),
        validate=validate.Length(min=minimum, max=len(choices)),
        **kwargs,  # type: ignore[arg-type]
    )


def whole_number(**kwargs: object) -> fields.Integer:
    """An integer in a JSON body. Marshmallow's default cuts 2.5 down to 2 (and takes "2" and
    true): a capacity or a hold-back the coordinator did not ask for. Query strings stay lenient."""
    return fields.Integer(strict=True, **kwargs)  # type: ignore[arg-type]


class Page(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = paging.offset()


# Mentors ---------------------------------------------------------------------------------------


class ContactIn(Schema):
    given_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    family_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    phone = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^\+?[0-9 ()-]{7,20}$", error="Not a phone number."),
    )
    preferred_language = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(LANGUAGES))
    channels = codes(CONTACT_CHANNELS, required=True)
    safe_to_text = fields.Boolean(load_default=False)


class ContactPatch(ContactIn):
    given_name = fields.String(validate=validate.Length(min=1, max=100))
    family_name = fields.String(allow_none=True, validate=validate.Length(max=100))
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    phone = fields.String(
        allow_none=True, validate=validate.Regexp(r"^\+?[0-9 ()-]{7,20}$", error="Not a phone number.")
    )
    preferred_language = fields.String(allow_none=True, validate=validate.OneOf(LANGUAGES))
    channels = codes(CONTACT_CHANNELS)
    safe_to_text = fields.Boolean()


class SafeguardingIn(Schema):
    dbs_checked_on = fields.Date(load_default=None, allow_none=True)
    dbs_expires_on = fields.Date(
        load_default=None, allow_none=True, metadata={"description": "Renewal date; three years on when not given."}
    )
    training_completed_on = fields.Date(load_default=None, allow_none=True)
    last_supervision_on = fields.Date(load_default=None, allow_none=True)
    stable_since = fields.Date(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "Start of their own stability period (needed with lived experience of drugs or alcohol)."
        },
    )


class SafeguardingPatch(SafeguardingIn):
    dbs_checked_on = fields.Date(allow_none=True)
    dbs_expires_on = fields.Date(allow_none=True)
    training_completed_on = fields.Date(allow_none=True)
    last_supervision_on = fields.Date(allow_none=True)
    stable_since = fields.Date(allow_none=True)


class MentorIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(MENTOR_KINDS))
    contact = fields.Nested(ContactIn, required=True)
    gender = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(GENDERS))
    languages = codes(LANGUAGES, minimum=1, required=True)
    lived_experience = codes(SUPPORT_NEEDS, load_default=list)
    skills = codes(SUPPORT_NEEDS, load_default=list)
    interests = codes(INTERESTS, load_default=list)
    availability = codes(AVAILABILITY_SLOTS, load_default=list)
    capacity = whole_number(required=True, validate=validate.Range(min=1, max=20))
    safeguarding = fields.Nested(SafeguardingIn, load_default=lambda: {})
    person_id = fields.UUID(
        load_default=None,
        allow_none=True,
        metadata={"description": "Their own person id when they were once referred in (receiver as giver)."},
    )


class MentorPatch(Schema):
    kind = fields.String(validate=validate.OneOf(MENTOR_KINDS))
    contact = fields.Nested(ContactPatch)
    gender = fields.String(allow_none=True, validate=validate.OneOf(GENDERS))
    languages = codes(LANGUAGES, minimum=1)
    lived_experience = codes(SUPPORT_NEEDS)
    skills = codes(SUPPORT_NEEDS)
    interests = codes(INTERESTS)
    availability = codes(AVAILABILITY_SLOTS)
    capacity = whole_number(validate=validate.Range(min=1, max=20))
    safeguarding = fields.Nested(SafeguardingPatch)
    person_id = fields.UUID(allow_none=True)

    @validates_schema
    def not_empty(self, data, **kwargs):  # type: ignore[no-untyped-def]
        if not data:
            raise ValidationError("Send at least one field to change.")


class ContactOut(Schema):
    given_name = fields.String()
    family_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    preferred_language = fields.String(allow_none=True)
    channels = fields.List(fields.String())
    safe_to_text = fields.Boolean()


class SafeguardingOut(Schema):
    dbs_checked_on = fields.Date(allow_none=True)
    dbs_expires_on = fields.Date(allow_none=True)
    training_completed_on = fields.Date(allow_none=True)
    last_supervision_on = fields.Date(allow_none=True)
    stable_since = fields.Date(allow_none=True)


class MentorOut(Schema):
    id = fields.UUID()
    site = fields.String()
    kind = fields.String()
    status = fields.String(metadata={"enum": [s.value for s in MentorStatus]})
    status_reason = fields.String(allow_none=True)
    status_since = fields.AwareDateTime(allow_none=True)
    contact = fields.Nested(ContactOut, metadata={"description": "Coordinators and the mentor themself only."})
    gender = fields.String(allow_none=True)
    languages = fields.List(fields.String())
    lived_experience = fields.List(fields.String())
    skills = fields.List(fields.String())
    interests = fields.List(fields.String())
    availability = fields.List(fields.String())
    capacity = fields.Integer()
    confirmed = fields.Integer(metadata={"description": "Mentees matched now."})
    proposed = fields.Integer(metadata={"description": "Proposals waiting for confirmation (they hold a place)."})
    places_left = fields.Integer()
    safeguarding = fields.Nested(SafeguardingOut)
    can_be_matched = fields.Boolean(metadata={"description": "No safeguarding or status rule stops a new match."})
    blocked_because = fields.List(fields.String())
    alerts = fields.List(fields.String(), metadata={"description": "What to act on soon (a DBS renewal, supervision)."})
    person_id = fields.UUID(allow_none=True)
    former_participant = fields.Boolean()
    registered_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime(allow_none=True)


class MentorPage(Schema):
    items = fields.List(fields.Nested(MentorOut))
    total = fields.Integer()


class MentorQuery(Schema):
    status = fields.String(validate=validate.OneOf([s.value for s in MentorStatus]))
    kind = fields.String(validate=validate.OneOf(MENTOR_KINDS))
    can_be_matched = fields.Boolean()


class PauseIn(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(MENTOR_PAUSE_REASONS))


class LeaveIn(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(MENTOR_LEAVE_REASONS))


class EmptyIn(Schema):
    pass


class ConflictIn(Schema):
    person_id = fields.UUID(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(CONFLICT_REASONS))


class PersonConflictIn(Schema):
    mentor_id = fields.UUID(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(CONFLICT_REASONS))
    declared_by = fields.String(load_default="person", validate=validate.OneOf(["person", "coordinator"]))


class ConflictOut(Schema):
    id = fields.UUID()
    person_id = fields.UUID()
    mentor_id = fields.UUID()
    declared_by = fields.String()
    reason = fields.String()
    since = fields.Date()
    recorded_by = fields.String()
    match_id = fields.UUID(allow_none=True)


# Requests --------------------------------------------------------------------------------------


class RequestOut(Schema):
    id = fields.UUID(metadata={"description": "The referral's id."})
    referral_id = fields.UUID()
    person_id = fields.UUID()
    status = fields.String(metadata={"enum": [s.value for s in RequestStatus]})
    support_needs = fields.List(fields.String())
    interests = fields.List(fields.String())
    availability = fields.List(fields.String())
    preferred_language = fields.String()
    mentor_gender = fields.String()
    welsh_speaking_mentor = fields.Boolean()
    priority = fields.Boolean()
    urgent = fields.Boolean(metadata={"description": "A priority referral, or back after their mentor paused or left."})
    requeued_from_mentor = fields.UUID(allow_none=True)
    reentry = fields.Boolean()
    accepted_at = fields.AwareDateTime()
    waiting_since = fields.AwareDateTime()
    days_waiting = fields.Integer()
    current_match_id = fields.UUID(allow_none=True)


class RequestPage(Schema):
    items = fields.List(fields.Nested(RequestOut))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


class RequestQuery(Page):
    status = fields.String(validate=validate.OneOf([s.value for s in RequestStatus]))


class ContributionOut(Schema):
    criterion = fields.String(metadata={"enum": list(CRITERIA)})
    value = fields.Float(metadata={"description": "0 to 1."})
    weight = fields.Float(metadata={"description": "The criterion's share of a score."})
    points = fields.Float(metadata={"description": "value x weight: what it adds to the score."})
    reason = fields.String()


class ExclusionOut(Schema):
    code = fields.String()
    reason = fields.String()


class SuggestionOut(Schema):
    mentor_id = fields.UUID()
    given_name = fields.String()
    kind = fields.String()
    score = fields.Float()
    rank = fields.Integer()
    places_left = fields.Integer()
    contributions = fields.List(fields.Nested(ContributionOut))


class ExcludedOut(Schema):
    mentor_id = fields.UUID()
    given_name = fields.String()
    reasons = fields.List(fields.Nested(ExclusionOut))


class SuggestionsOut(Schema):
    request = fields.Nested(RequestOut)
    suggestions = fields.List(fields.Nested(SuggestionOut))
    excluded = fields.List(fields.Nested(ExcludedOut))
    weights = fields.Dict(keys=fields.String(), values=fields.Float())


class SuggestionsQuery(Schema):
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=200))


# Matches ---------------------------------------------------------------------------------------


class MatchIn(Schema):
    request_id = fields.UUID(required=True)
    mentor_id = fields.UUID(required=True)
    confirm = fields.Boolean(
        load_default=False, metadata={"description": "Confirm at once (both sides already agreed)."}
    )


class ConfirmIn(Schema):
    pass


class DeclineIn(Schema):
    declined_by = fields.String(required=True, validate=validate.OneOf(MATCH_DECLINED_BY))
    reason = fields.String(required=True, validate=validate.OneOf(MATCH_DECLINE_REASONS))


class EndIn(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(END_BY_HAND))
    never_pair_again = fields.Boolean(load_default=False)


class FeedbackIn(Schema):
    helped = fields.String(required=True, validate=validate.OneOf(HELPED))
    would_match_again = fields.Boolean(required=True)
    ended_because = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(MATCH_END_REASONS))


class FeedbackOut(Schema):
    match_id = fields.UUID()
    side = fields.String(metadata={"enum": list(SIDES)})
    helped = fields.String()
    would_match_again = fields.Boolean()
    ended_because = fields.String(allow_none=True)
    recorded_at = fields.AwareDateTime()
    recorded_by = fields.String()


class BreakdownOut(Schema):
    value = fields.Float()
    weight = fields.Float()
    points = fields.Float()


class MatchOut(Schema):
    id = fields.UUID()
    request_id = fields.UUID()
    referral_id = fields.UUID()
    person_id = fields.UUID()
    mentor_id = fields.UUID()
    method = fields.String()
    run_id = fields.UUID(allow_none=True)
    score = fields.Float()
    breakdown = fields.Dict(keys=fields.String(), values=fields.Nested(BreakdownOut))
    status = fields.String(metadata={"enum": [s.value for s in MatchStatus]})
    allowed_actions = fields.List(fields.String())
    proposed_at = fields.AwareDateTime()
    proposed_by = fields.String()
    confirmed_at = fields.AwareDateTime(allow_none=True)
    confirmed_by = fields.String(allow_none=True)
    declined_at = fields.AwareDateTime(allow_none=True)
    declined_by = fields.String(allow_none=True)
    decline_reason = fields.String(allow_none=True)
    cancelled_at = fields.AwareDateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    ended_at = fields.AwareDateTime(allow_none=True)
    ended_by = fields.String(allow_none=True)
    end_reason = fields.String(allow_none=True)
    never_pair_again = fields.Boolean()
    feedback = fields.List(fields.Nested(FeedbackOut))


class MatchPage(Schema):
    items = fields.List(fields.Nested(MatchOut))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


class MatchQuery(Page):
    status = fields.String(validate=validate.OneOf([s.value for s in MatchStatus]))
    mentor_id = fields.UUID()
    request_id = fields.UUID()
    run_id = fields.UUID()


class FindingOut(Schema):
    criterion = fields.String()
    weight = fields.Float()
    matches = fields.Integer()
    mean_in_good = fields.Float(allow_none=True)
    mean_in_poor = fields.Float(allow_none=True)
    difference = fields.Float(allow_none=True)
    correlation = fields.Float(allow_none=True)
    verdict = fields.String()


class CriteriaReportOut(Schema):
    matches_with_feedback = fields.Integer()
    good_matches = fields.Integer()
    criteria = fields.List(fields.Nested(FindingOut))


# Caseloads ---------------------------------------------------------------------------------------


class CaseloadItemOut(Schema):
    match_id = fields.UUID()
    status = fields.String()
    request_id = fields.UUID()
    person_id = fields.UUID()
    since = fields.AwareDateTime()
    support_needs = fields.List(fields.String())
    interests = fields.List(fields.String())
    availability = fields.List(fields.String())
    preferred_language = fields.String()
    score = fields.Float()


class CaseloadOut(Schema):
    mentor_id = fields.UUID()
    capacity = fields.Integer()
    confirmed = fields.Integer()
    proposed = fields.Integer()
    places_left = fields.Integer()
    items = fields.List(fields.Nested(CaseloadItemOut))


class LoadOut(Schema):
    mentor_id = fields.UUID()
    given_name = fields.String()
    capacity = fields.Integer()
    confirmed = fields.Integer()
    proposed = fields.Integer()
    utilisation = fields.Float()


class FairnessOut(Schema):
    mentors = fields.Integer()
    mean_utilisation = fields.Float(allow_none=True)
    spread = fields.Float(allow_none=True, metadata={"description": "Busiest minus least busy (share of capacity)."})
    standard_deviation = fields.Float(allow_none=True)
    gini = fields.Float(allow_none=True, metadata={"description": "0: load spread evenly; towards 1: a few carry it."})
    idle = fields.Integer()
    full = fields.Integer()
    over_capacity = fields.Integer()


class CaseloadsOut(Schema):
    items = fields.List(fields.Nested(LoadOut))
    fairness = fields.Nested(FairnessOut)


# Runs ------------------------------------------------------------------------------------------


class RunIn(Schema):
    hold_back = whole_number(
        load_default=0,
        validate=validate.Range(min=0, max=1000),
        metadata={"description": "Places to keep free for urgent referrals (taken from the mentors with most room)."},
    )
    # Left out, the run plans for every waiting request. `null` is refused rather than read the same
    # way: a client whose list came out empty or unset would plan for the whole site unawares.
    request_ids = fields.List(
        fields.UUID(),
        allow_none=False,
        validate=validate.Length(min=1, max=10000),
        metadata={"description": "Only these waiting requests; left out: every waiting request. Never null."},
    )


class PublishIn(Schema):
    leave_out = fields.List(fields.UUID(), load_default=list, metadata={"description": "Requests not to propose."})
    confirm = fields.Boolean(load_default=False, metadata={"description": "Confirm the matches at once."})


class RunProposalOut(Schema):
    request_id = fields.UUID()
    mentor_id = fields.UUID()
    score = fields.Float()
    breakdown = fields.Dict(keys=fields.String(), values=fields.Nested(BreakdownOut))
    outcome = fields.String(allow_none=True)
    match_id = fields.UUID(allow_none=True)
    skip_reasons = fields.List(fields.String(), allow_none=True)


class RunUnmatchedOut(Schema):
    request_id = fields.UUID()
    urgent = fields.Boolean()
    reasons = fields.List(fields.String())


class RunOut(Schema):
    id = fields.UUID()
    status = fields.String(metadata={"enum": ["draft", "published", "discarded"]})
    created_at = fields.AwareDateTime()
    created_by = fields.String()
    hold_back = fields.Integer()
    held_back = fields.Integer()
    requests_considered = fields.Integer()
    mentors_considered = fields.Integer()
    total_score = fields.Float()
    greedy_score = fields.Float(metadata={"description": "What best-pair-first would have scored, for comparison."})
    seconds = fields.Float()
    weights = fields.Dict(keys=fields.String(), values=fields.Float())
    published_at = fields.AwareDateTime(allow_none=True)
    published_by = fields.String(allow_none=True)
    discarded_at = fields.AwareDateTime(allow_none=True)
    proposals = fields.List(fields.Nested(RunProposalOut))
    unmatched = fields.List(fields.Nested(RunUnmatchedOut))


class RunSummaryOut(Schema):
    id = fields.UUID()
    status = fields.String()
    created_at = fields.AwareDateTime()
    created_by = fields.String()
    requests_considered = fields.Integer()
    mentors_considered = fields.Integer()
    total_score = fields.Float()
    greedy_score = fields.Float()
    published_at = fields.AwareDateTime(allow_none=True)


class RunPage(Schema):
    items = fields.List(fields.Nested(RunSummaryOut))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


# Policy ----------------------------------------------------------------------------------------


class PolicyIn(Schema):
    weights = fields.Dict(
        keys=fields.String(validate=validate.OneOf(CRITERIA)),
        values=fields.Float(validate=validate.Range(min=0, max=100), allow_nan=False),
        required=True,
        metadata={
            "description": "Relative weights: " + "; ".join(f"{k}: {v}" for k, v in CRITERION_DESCRIPTIONS.items())
        },
    )
    gender_preference = fields.String(load_default="hard", validate=validate.OneOf(GENDER_PREFERENCE_MODES))
    stability_months = whole_number(load_default=12, validate=validate.Range(min=0, max=120))
    supervision_days = whole_number(load_default=90, validate=validate.Range(min=1, max=730))
    dbs_warning_days = whole_number(load_default=30, validate=validate.Range(min=0, max=365))
    waiting_days_full = whole_number(load_default=90, validate=validate.Range(min=1, max=730))


class PolicyOut(Schema):
    version = fields.Integer(allow_none=True, metadata={"description": "None: the defaults, never changed."})
    set_at = fields.AwareDateTime(allow_none=True)
    set_by = fields.String(allow_none=True)
    weights = fields.Dict(keys=fields.String(), values=fields.Float())
    shares = fields.Dict(
        keys=fields.String(), values=fields.Float(), metadata={"description": "Weights as shares of 1."}
    )
    gender_preference = fields.String()
    stability_months = fields.Integer()
    supervision_days = fields.Integer()
    dbs_warning_days = fields.Integer()
    waiting_days_full = fields.Integer()
    criteria = fields.Dict(keys=fields.String(), values=fields.String())
