"""Controlled vocabularies shared by every service and the central figures.

Codes, not labels: they travel on the wire and into the central office's reports, so they
change only by adding. Labels in Welsh and English belong to the services that show them.
"""

REFERRAL_SOURCES = (
    "self",
    "gp",
    "drug-alcohol-service",
    "probation",
    "mental-health-team",
    "family",
    "housing",
    "other-agency",
)

SUPPORT_NEEDS = (
    "substance-use",
    "alcohol",
    "mental-health",
    "trauma",
    "health-condition",
    "isolation",
    "housing",
    "employment",
    "education",
    "finance",
    "family",
    "offending",
)

INTERESTS = (
    "art",
    "music",
    "writing",
    "outdoors",
    "walking",
    "gardening",
    "sport",
    "cooking",
    "crafts",
    "games",
    "volunteering",
    "faith",
)

# Weekly availability as day and part of day: "mon-am", "sat-eve".
AVAILABILITY_SLOTS = tuple(
    f"{day}-{part}" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun") for part in ("am", "pm", "eve")
)

MENTOR_GENDER_PREFERENCES = ("no-preference", "female", "male", "non-binary")

DECLINE_REASONS = (
    "not-eligible",
    "needs-another-service",
    "declined-by-person",
    "unable-to-contact",
    "out-of-area",
    "other",
)

WITHDRAW_REASONS = ("by-person", "by-referrer", "no-longer-needed", "unable-to-contact", "other")

CLOSURE_OUTCOMES = ("completed", "disengaged", "moved-away", "transferred", "deceased", "other")

MATCH_END_REASONS = (
    "completed",
    "not-a-fit",
    "mentee-disengaged",
    "mentor-paused",
    "mentor-left",
    "safeguarding",
    "referral-withdrawn",
    "referral-closed",
    "other",
)

# Matching ---------------------------------------------------------------------------------

MENTOR_KINDS = ("paid", "volunteer")

MENTOR_PAUSE_REASONS = ("relapse", "burnout", "health", "personal", "dbs-expired", "supervision-lapsed", "other")

MENTOR_LEAVE_REASONS = ("moved-on", "employment", "health", "relapse", "personal", "dismissed", "other")

MATCH_METHODS = ("manual", "run", "rematch")

MATCH_DECLINED_BY = ("coordinator", "mentor", "mentee")

MATCH_DECLINE_REASONS = (
    "not-a-fit",
    "mentor-unavailable",
    "mentee-declined",
    "conflict-of-interest",
    "safeguarding",
    "language",
    "other",
)

# Events (art groups, exhibitions, sales) --------------------------------------------------

ART_EVENT_KINDS = ("group-session", "exhibition", "auction", "card-sale", "live-painting", "community-event")

ART_EVENT_CANCEL_REASONS = (
    "venue-unavailable",
    "facilitator-unavailable",
    "weather",
    "low-numbers",
    "other",
)

REGISTRATION_CANCEL_REASONS = ("by-participant", "by-organiser", "event-cancelled", "person-erased", "other")

ATTENDANCE_STATUSES = ("attended", "no-show", "drop-in")

SALE_KINDS = ("auction-lot", "cards", "artwork", "live-painting", "donation", "other")

# Notifications ------------------------------------------------------------------------------

MESSAGE_KINDS = (
    "referral-acknowledged",
    "referral-accepted",
    "referral-declined",
    "match-confirmed-mentee",
    "match-confirmed-mentor",
    "match-ended",
    "registration-confirmed",
    "registration-waitlisted",
    "registration-promoted",
    "event-reminder",
    "event-changed",
    "event-cancelled",
    "digest",
    "please-phone",
)

MESSAGE_CHANNELS = ("email", "sms")

NOTIFICATION_FAILURE_REASONS = (
    "invalid-address",
    "rejected-by-provider",
    "attempts-exhausted",
    "opted-out",
    "no-contact-details",
    "other",
)

# Notifications: added by the notifications service (additive only) ---------------------------
# Coordinators' own messages: one per new referral (or a daily digest of them, by choice).
MESSAGE_KINDS = (*MESSAGE_KINDS, "referral-received-coordinator")

# Who a message was for, as notification events may say.
MESSAGE_AUDIENCES = ("person", "mentor", "guest", "coordinator")

ADVOCACY_CATEGORIES = (
    "housing",
    "benefits",
    "health-services",
    "social-care",
    "debt",
    "employment",
    "education",
    "legal",
    "family",
    "other",
)

ADVOCACY_RESOLUTIONS = ("resolved", "partly-resolved", "referred-on", "no-longer-needed", "unresolved")

RISK_FLAGS = (
    "recent-overdose",
    "self-harm",
    "suicidal-thoughts",
    "domestic-abuse",
    "lone-working-risk",
    "safeguarding-child",
    "safeguarding-adult",
    "violence",
    "other",
)

CHECK_IN_TIMEPOINTS = ("baseline", "review", "closing")

LANGUAGES = ("cy", "en")

CONTACT_CHANNELS = ("email", "sms", "phone", "post")

AGE_BANDS = ("16-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")


def age_band(age_in_years: int) -> str:
    """The band the central office sees instead of a date of birth."""
    if age_in_years < 16:
        raise ValueError("Peerlink takes referrals from the age of 16")
    for band, upper in (("16-17", 17), ("18-24", 24), ("25-34", 34), ("35-44", 44), ("45-54", 54), ("55-64", 64)):
        if age_in_years <= upper:
            return band
    return "65+"


# Matching, added with the matching service (additive) -------------------------------------

# Why a proposed match was withdrawn before anyone decided on it: events overtook it.
MATCH_CANCEL_REASONS = ("referral-withdrawn", "referral-closed", "person-erased", "mentor-paused", "mentor-left")


# Referrals, added with possible duplicates (additive) --------------------------------------

# A coordinator's answer about a referral intake linked to someone already known.
PERSON_RESOLUTIONS = ("same-person", "different-person")
