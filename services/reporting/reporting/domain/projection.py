"""How each event changes the central office's read models, as plain data.

Events reach the central office from every site and service, in an order nobody promises
(a site's referrals and matching relay independently; a retried message comes late, after
newer events of its own aggregate). So a projection never reads what is there: each event is
an *upsert* of the columns it knows, and the store merges it by rules that give the same row
whatever the order of arrival:

- ``values``: columns in groups (``GROUPS``) that change together. An event that sets one
  column of a group sets all of them, and each group keeps the values of the newest event
  that set it, by the event's place in its aggregate's history (``version_of``). A group has
  a version of its own because one row's time does not do: a late event must still win a
  group that no newer event touched (a mentor's capacity updated before a pause that
  arrived first);
- ``first`` / ``latest``: the earliest / latest of a timestamp;
- ``add``: a counter that goes up by the given amount (an event is projected once: the log
  refuses a duplicate before it gets here).

Each rule is commutative, so replaying the log into empty read models, in whatever order it
was logged, rebuilds exactly what live ingestion built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Columns that change together, per read model: the whole group is written by each event
# that writes any of it, and its version (``<group>_version``) says by which event.
GROUPS: dict[str, dict[str, tuple[str, ...]]] = {
    "referrals": {
        "identity": ("person_id",),
        "intake": ("source", "support_needs", "self_referral"),
        # What depends on whom the referral is about: intake's guess, until a coordinator's answer
        # to a possible duplicate (``referral.person-resolved``) says otherwise.
        "identification": ("age_band", "known_person"),
        "decline": ("decline_reason",),
        "withdrawal": ("withdraw_reason", "withdrawn_from"),
        "closing": ("outcome",),
    },
    "waits": {"wait": ("matched_at", "days_waiting")},
    "advocacy": {"issue": ("person_id", "category"), "resolution": ("resolution",)},
    "outcomes": {
        "check_in": (
            "referral_id",
            "person_id",
            "scale",
            "timepoint",
            "score",
            "maximum",
            "baseline_score",
            "change",
            "weeks_since_baseline",
            "recorded_at",
        ),
    },
    "people": {},
    "mentors": {
        "profile": ("kind", "languages", "lived_experience", "capacity", "person_id"),
        "registration": ("registered_kind",),
        "pause": ("pause_reason",),
        "leaving": ("leave_reason",),
    },
    "matches": {
        "parties": ("referral_id", "person_id", "mentor_id"),
        "proposal": ("method", "score"),
        "decline": ("declined_by", "decline_reason"),
        "ending": ("end_reason",),
        "cancellation": ("cancel_reason",),
    },
    "art_events": {
        "event": ("group_id", "series_id", "kind", "starts_at"),
        "schedule": ("ends_at", "capacity", "public"),
        "cancellation": ("cancel_reason",),
    },
    "registrations": {
        "registration": ("event_id", "person_id", "guest", "with_mentor", "places"),
        "cancellation": ("cancel_reason",),
    },
    "attendance": {"record": ("event_id", "registration_id", "person_id", "status", "headcount", "recorded_at")},
    "sales": {
        "sale": (
            "event_id",
            "group_id",
            "artwork_id",
            "kind",
            "quantity",
            "amount_pence",
            "artist_share_pence",
            "scheme_share_pence",
        ),
        "void": ("void_reason",),
    },
    "deliveries": {"delivery": ("kind", "channel", "audience", "attempts"), "failure": ("reason",)},
}


def version_of(sequence: int, time: datetime, event_id: str) -> str:
    """An event's place in its aggregate's history, as text that sorts in that order.

    Every event that writes a read-model row comes from the row's own aggregate (one service
    of one site, the row's id as the CloudEvents subject), whose ``sequence`` goes up with each
    event in the order they were committed: the surest order there is, even when two writers'
    clocks disagree. The time breaks a tie (a producer that does not number its events, or
    one restored from a backup that numbers some twice), and the event id a tie of both, so
    that any two events have one order. Fixed-width digits, then an ISO time in UTC: the text
    sorts as the tuple would, byte by byte.
    """
    if not 0 <= sequence < 10**10:
        raise ValueError(f"sequence {sequence} out of range")
    utc = time.astimezone(UTC).replace(tzinfo=None)
    return f"{sequence:010d} {utc.isoformat(timespec='microseconds')}Z {event_id}"


@dataclass(frozen=True)
class Upsert:
    model: str
    key: Any
    site: str
    version: str  # of the event (``version_of``): orders the groups of ``values``
    values: dict[str, Any] = field(default_factory=dict)
    first: dict[str, Any] = field(default_factory=dict)
    latest: dict[str, Any] = field(default_factory=dict)
    add: dict[str, int] = field(default_factory=dict)


Projector = Callable[[str, str, dict[str, Any]], list[Upsert]]
PROJECTORS: dict[str, Projector] = {}


def projects(*event_types: str) -> Callable[[Projector], Projector]:
    def register(projector: Projector) -> Projector:
        for name in event_types:
            PROJECTORS[name] = projector
        return projector

    return register


def project(event_type: str, site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    """The read-model changes of one event; an event type without a projector is only logged."""
    projector = PROJECTORS.get(event_type)
    return projector(site, version, data) if projector else []


def _type(aggregate: str, verb: str) -> str:
    return f"peerlink.{aggregate}.{verb}.v1"


# Referrals ----------------------------------------------------------------------------------


def _referral(site: str, version: str, data: dict[str, Any], **parts: Any) -> Upsert:
    return Upsert("referrals", data["referral_id"], site, version, values={"person_id": data["person_id"]}, **parts)


@projects(_type("referral", "received"))
def referral_received(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    values = {
        "person_id": data["person_id"],
        "source": data["source"],
        "support_needs": list(data["support_needs"]),
        "age_band": data["age_band"],
        "self_referral": data.get("self_referral", False),
        "known_person": data.get("known_person", False),
    }
    first = {"received_at": data["received_at"]}
    return [Upsert("referrals", data["referral_id"], site, version, values=values, first=first)]


@projects(_type("referral", "person-resolved"))
def referral_person_resolved(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    """A possible duplicate answered: the referral is the person's the coordinator said (a new
    person's on ``different-person``), with the age band that follows. Numbered in the referral's
    own sequence, it wins over its ``referral.received`` and loses to what came after, in any order."""
    values = {
        "person_id": data["person_id"],
        "age_band": data["age_band"],
        "known_person": data["resolution"] == "same-person",
    }
    first = {"received_at": data["received_at"]}  # only if the referral itself has not arrived yet
    return [Upsert("referrals", data["referral_id"], site, version, values=values, first=first)]


@projects(_type("referral", "accepted"))
def referral_accepted(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    at = data["accepted_at"]
    return [
        _referral(
            site,
            version,
            data,
            first={"first_accepted_at": at},
            latest={"last_accepted_at": at},
            add={"reentries": 1 if data.get("reentry") else 0},
        )
    ]


@projects(_type("referral", "declined"))
def referral_declined(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    upsert = _referral(site, version, data, first={"declined_at": data["declined_at"]})
    upsert.values["decline_reason"] = data["reason"]
    return [upsert]


@projects(_type("referral", "withdrawn"))
def referral_withdrawn(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    upsert = _referral(site, version, data, latest={"withdrawn_at": data["withdrawn_at"]})
    upsert.values.update(withdraw_reason=data["reason"], withdrawn_from=data["from_status"])
    return [upsert]


@projects(_type("referral", "matched"))
def referral_matched(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    at = data["matched_at"]
    return [
        _referral(
            site, version, data, first={"first_matched_at": at}, latest={"last_matched_at": at}, add={"matches": 1}
        ),
        Upsert(
            "waits",
            (data["referral_id"], data["match_id"]),
            site,
            version,
            values={"matched_at": at, "days_waiting": data["days_waiting"]},
        ),
    ]


@projects(_type("referral", "activated"))
def referral_activated(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    return [_referral(site, version, data, first={"activated_at": data["activated_at"]})]


@projects(_type("referral", "requeued"))
def referral_requeued(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    return [_referral(site, version, data, latest={"last_accepted_at": data["requeued_at"]}, add={"requeues": 1})]


@projects(_type("referral", "closed"))
def referral_closed(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    upsert = _referral(site, version, data, latest={"closed_at": data["closed_at"]})
    upsert.values["outcome"] = data["outcome"]
    return [upsert]


# Advocacy, outcomes, people ---------------------------------------------------------------------


@projects(_type("advocacy", "opened"))
def advocacy_opened(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    values = {"person_id": data["person_id"], "category": data["category"]}
    return [Upsert("advocacy", data["issue_id"], site, version, values=values, first={"opened_at": data["opened_at"]})]


@projects(_type("advocacy", "resolved"))
def advocacy_resolved(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    values = {"person_id": data["person_id"], "category": data["category"], "resolution": data["resolution"]}
    return [
        Upsert(
            "advocacy",
            data["issue_id"],
            site,
            version,
            values=values,
            first={"opened_at": data["resolved_at"]},  # only if the opening never arrived
            latest={"resolved_at": data["resolved_at"]},
        )
    ]


@projects(_type("outcome", "recorded"))
def outcome_recorded(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    keys = ("referral_id", "person_id", "scale", "timepoint", "score", "maximum", "baseline_score", "change")
    values = {key: data.get(key) for key in keys}
    values["weeks_since_baseline"] = data.get("weeks_since_baseline")
    values["recorded_at"] = data["recorded_at"]
    return [Upsert("outcomes", data["check_in_id"], site, version, values=values)]


@projects(_type("person", "erased"))
def person_erased(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    return [Upsert("people", data["person_id"], site, version, first={"erased_at": data["erased_at"]})]


# Mentors and matches ---------------------------------------------------------------------------


_PROFILE = ("kind", "languages", "lived_experience", "capacity", "person_id")


@projects(_type("mentor", "registered"), _type("mentor", "updated"))
def mentor_profile(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    values = {key: (list(data[key]) if isinstance(data.get(key), list) else data.get(key)) for key in _PROFILE}
    if "registered_at" in data:
        # The kind they joined as: a participant who volunteered first and is paid now has
        # come the whole way ("the receiver as a giver").
        values["registered_kind"] = data["kind"]
    registered = data.get("registered_at") or data.get("updated_at")  # the update's, if registering never arrived
    return [Upsert("mentors", data["mentor_id"], site, version, values=values, first={"registered_at": registered})]


@projects(_type("mentor", "paused"))
def mentor_paused(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    upsert = Upsert("mentors", data["mentor_id"], site, version, latest={"paused_at": data["paused_at"]})
    upsert.values["pause_reason"] = data["reason"]
    return [upsert]


@projects(_type("mentor", "resumed"))
def mentor_resumed(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    return [Upsert("mentors", data["mentor_id"], site, version, latest={"resumed_at": data["resumed_at"]})]


@projects(_type("mentor", "left"))
def mentor_left(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    upsert = Upsert("mentors", data["mentor_id"], site, version, latest={"left_at": data["left_at"]})
    upsert.values["leave_reason"] = data["reason"]
    return [upsert]


def _match(site: str, version: str, data: dict[str, Any], **parts: Any) -> Upsert:
    ids = {k: data[k] for k in ("referral_id", "person_id", "mentor_id")}
    upsert = Upsert("matches", data["match_id"], site, version, **parts)
    upsert.values.update(ids)
    return upsert


@projects(_type("match", "proposed"))
def match_proposed(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    upsert = _match(site, version, data, first={"proposed_at": data["proposed_at"]})
    upsert.values.update(method=data["method"], score=data["score"])
    return [upsert]


@projects(_type("match", "confirmed"))
def match_confirmed(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    return [_match(site, version, data, first={"confirmed_at": data["confirmed_at"]})]


@projects(_type("match", "declined"))
def match_declined(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    upsert = _match(site, version, data, first={"declined_at": data["declined_at"]})
    upsert.values.update(declined_by=data["declined_by"], decline_reason=data["reason"])
    return [upsert]


@projects(_type("match", "ended"))
def match_ended(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    upsert = _match(site, version, data, first={"ended_at": data["ended_at"]})
    upsert.values["end_reason"] = data["reason"]
    return [upsert]


@projects(_type("match", "cancelled"))
def match_cancelled(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    upsert = _match(site, version, data, first={"cancelled_at": data["cancelled_at"]})
    upsert.values["cancel_reason"] = data["reason"]
    return [upsert]


# Art events, registrations, attendance, sales --------------------------------------------------


_SCHEDULE = ("group_id", "series_id", "kind", "starts_at", "ends_at", "capacity", "public")


@projects(_type("artevent", "scheduled"), _type("artevent", "changed"))
def artevent_schedule(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    values = {key: data.get(key) for key in _SCHEDULE}
    return [Upsert("art_events", data["event_id"], site, version, values=values)]


@projects(_type("artevent", "cancelled"))
def artevent_cancelled(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    values = {key: data.get(key) for key in ("group_id", "series_id", "kind", "starts_at")}
    values["cancel_reason"] = data["reason"]
    first = {"cancelled_at": data["cancelled_at"]}
    return [Upsert("art_events", data["event_id"], site, version, values=values, first=first)]


def _registration(site: str, version: str, data: dict[str, Any], **parts: Any) -> Upsert:
    upsert = Upsert("registrations", data["registration_id"], site, version, **parts)
    upsert.values.update(
        event_id=data["event_id"],
        person_id=data.get("person_id"),
        guest=data.get("guest_id") is not None,
        with_mentor=data.get("mentor_id") is not None,
        places=data.get("places", 1),
    )
    return upsert


@projects(_type("registration", "confirmed"))
def registration_confirmed(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    return [_registration(site, version, data, first={"confirmed_at": data["confirmed_at"]})]


@projects(_type("registration", "waitlisted"))
def registration_waitlisted(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    return [_registration(site, version, data, first={"waitlisted_at": data["waitlisted_at"]})]


@projects(_type("registration", "promoted"))
def registration_promoted(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    return [_registration(site, version, data, first={"promoted_at": data["promoted_at"]})]


@projects(_type("registration", "cancelled"))
def registration_cancelled(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    upsert = _registration(site, version, data, first={"cancelled_at": data["cancelled_at"]})
    upsert.values["cancel_reason"] = data["reason"]
    return [upsert]


@projects(_type("attendance", "recorded"))
def attendance_recorded(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    keys = ("event_id", "registration_id", "person_id", "status", "headcount", "recorded_at")
    return [Upsert("attendance", data["attendance_id"], site, version, values={k: data.get(k) for k in keys})]


_SALE = (
    "event_id",
    "group_id",
    "artwork_id",
    "kind",
    "quantity",
    "amount_pence",
    "artist_share_pence",
    "scheme_share_pence",
)


@projects(_type("sale", "recorded"))
def sale_recorded(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    values = {k: data.get(k) for k in _SALE}
    return [Upsert("sales", data["sale_id"], site, version, values=values, first={"recorded_at": data["recorded_at"]})]


@projects(_type("sale", "voided"))
def sale_voided(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    upsert = Upsert("sales", data["sale_id"], site, version, first={"voided_at": data["voided_at"]})
    upsert.values.update({k: data.get(k) for k in _SALE}, void_reason=data["reason"])
    return [upsert]


# Notifications ---------------------------------------------------------------------------------


@projects(_type("notification", "sent"))
def notification_sent(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    values = {
        "kind": data["kind"],
        "channel": data["channel"],
        "attempts": data["attempts"],
        "audience": data.get("audience"),
    }
    return [Upsert("deliveries", data["delivery_id"], site, version, values=values, first={"sent_at": data["sent_at"]})]


@projects(_type("notification", "failed"))
def notification_failed(site: str, version: str, data: dict[str, Any]) -> list[Upsert]:
    values = {"kind": data["kind"], "channel": data["channel"], "attempts": data["attempts"], "reason": data["reason"]}
    values["audience"] = data.get("audience")
    return [
        Upsert("deliveries", data["delivery_id"], site, version, values=values, first={"failed_at": data["failed_at"]})
    ]
