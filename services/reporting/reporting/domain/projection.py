"""How each event changes the central office's read models, as plain data.

Events reach the central office from every site and service, in an order nobody promises
(a site's referrals and matching relay independently; a retried message comes late). So a
projection never reads what is there: each event is an *upsert* of the columns it knows, and
the store merges it by rules that give the same row whatever the order:

- ``values``: last writer wins by the event's own time (``as_of``), a missing value keeps what
  is there;
- ``first`` / ``latest``: the earliest / latest of a timestamp;
- ``add``: a counter that goes up by the given amount (an event is projected once: the log
  refuses a duplicate before it gets here).

Replaying the log into empty read models therefore rebuilds exactly what live ingestion built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Upsert:
    model: str
    key: Any
    site: str
    as_of: datetime
    values: dict[str, Any] = field(default_factory=dict)
    first: dict[str, Any] = field(default_factory=dict)
    latest: dict[str, Any] = field(default_factory=dict)
    add: dict[str, int] = field(default_factory=dict)


Projector = Callable[[str, datetime, dict[str, Any]], list[Upsert]]
PROJECTORS: dict[str, Projector] = {}


def projects(*event_types: str) -> Callable[[Projector], Projector]:
    def register(projector: Projector) -> Projector:
        for name in event_types:
            PROJECTORS[name] = projector
        return projector

    return register


def project(event_type: str, site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    """The read-model changes of one event; an event type without a projector is only logged."""
    projector = PROJECTORS.get(event_type)
    return projector(site, time, data) if projector else []


def _type(aggregate: str, verb: str) -> str:
    return f"peerlink.{aggregate}.{verb}.v1"


# Referrals ----------------------------------------------------------------------------------


def _referral(site: str, time: datetime, data: dict[str, Any], **parts: Any) -> Upsert:
    return Upsert("referrals", data["referral_id"], site, time, values={"person_id": data["person_id"]}, **parts)


@projects(_type("referral", "received"))
def referral_received(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    values = {
        "person_id": data["person_id"],
        "source": data["source"],
        "support_needs": list(data["support_needs"]),
        "age_band": data["age_band"],
        "self_referral": data.get("self_referral", False),
        "known_person": data.get("known_person", False),
    }
    return [
        Upsert("referrals", data["referral_id"], site, time, values=values, first={"received_at": data["received_at"]})
    ]


@projects(_type("referral", "accepted"))
def referral_accepted(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    at = data["accepted_at"]
    return [
        _referral(
            site,
            time,
            data,
            first={"first_accepted_at": at},
            latest={"last_accepted_at": at},
            add={"reentries": 1 if data.get("reentry") else 0},
        )
    ]


@projects(_type("referral", "declined"))
def referral_declined(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    upsert = _referral(site, time, data, first={"declined_at": data["declined_at"]})
    upsert.values["decline_reason"] = data["reason"]
    return [upsert]


@projects(_type("referral", "withdrawn"))
def referral_withdrawn(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    upsert = _referral(site, time, data, latest={"withdrawn_at": data["withdrawn_at"]})
    upsert.values.update(withdraw_reason=data["reason"], withdrawn_from=data["from_status"])
    return [upsert]


@projects(_type("referral", "matched"))
def referral_matched(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    at = data["matched_at"]
    return [
        _referral(site, time, data, first={"first_matched_at": at}, latest={"last_matched_at": at}, add={"matches": 1}),
        Upsert(
            "waits",
            (data["referral_id"], data["match_id"]),
            site,
            time,
            values={"matched_at": at, "days_waiting": data["days_waiting"]},
        ),
    ]


@projects(_type("referral", "activated"))
def referral_activated(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    return [_referral(site, time, data, first={"activated_at": data["activated_at"]})]


@projects(_type("referral", "requeued"))
def referral_requeued(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    return [_referral(site, time, data, latest={"last_accepted_at": data["requeued_at"]}, add={"requeues": 1})]


@projects(_type("referral", "closed"))
def referral_closed(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    upsert = _referral(site, time, data, latest={"closed_at": data["closed_at"]})
    upsert.values["outcome"] = data["outcome"]
    return [upsert]


# Advocacy, outcomes, people ---------------------------------------------------------------------


@projects(_type("advocacy", "opened"))
def advocacy_opened(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    values = {"person_id": data["person_id"], "category": data["category"]}
    return [Upsert("advocacy", data["issue_id"], site, time, values=values, first={"opened_at": data["opened_at"]})]


@projects(_type("advocacy", "resolved"))
def advocacy_resolved(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    values = {"person_id": data["person_id"], "category": data["category"], "resolution": data["resolution"]}
    return [
        Upsert(
            "advocacy",
            data["issue_id"],
            site,
            time,
            values=values,
            first={"opened_at": data["resolved_at"]},  # only if the opening never arrived
            latest={"resolved_at": data["resolved_at"]},
        )
    ]


@projects(_type("outcome", "recorded"))
def outcome_recorded(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    keys = ("referral_id", "person_id", "scale", "timepoint", "score", "maximum", "baseline_score", "change")
    values = {key: data.get(key) for key in keys}
    values["weeks_since_baseline"] = data.get("weeks_since_baseline")
    values["recorded_at"] = data["recorded_at"]
    return [Upsert("outcomes", data["check_in_id"], site, time, values=values)]


@projects(_type("person", "erased"))
def person_erased(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    return [Upsert("people", data["person_id"], site, time, first={"erased_at": data["erased_at"]})]


# Mentors and matches ---------------------------------------------------------------------------


_PROFILE = ("kind", "languages", "lived_experience", "capacity", "person_id")


@projects(_type("mentor", "registered"), _type("mentor", "updated"))
def mentor_profile(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    values = {key: (list(data[key]) if isinstance(data.get(key), list) else data.get(key)) for key in _PROFILE}
    registered = data.get("registered_at") or data.get("updated_at")
    return [Upsert("mentors", data["mentor_id"], site, time, values=values, first={"registered_at": registered})]


@projects(_type("mentor", "paused"))
def mentor_paused(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    upsert = Upsert("mentors", data["mentor_id"], site, time, latest={"paused_at": data["paused_at"]})
    upsert.values["pause_reason"] = data["reason"]
    return [upsert]


@projects(_type("mentor", "resumed"))
def mentor_resumed(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    return [Upsert("mentors", data["mentor_id"], site, time, latest={"resumed_at": data["resumed_at"]})]


@projects(_type("mentor", "left"))
def mentor_left(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    upsert = Upsert("mentors", data["mentor_id"], site, time, latest={"left_at": data["left_at"]})
    upsert.values["leave_reason"] = data["reason"]
    return [upsert]


def _match(site: str, time: datetime, data: dict[str, Any], **parts: Any) -> Upsert:
    ids = {k: data[k] for k in ("referral_id", "person_id", "mentor_id")}
    upsert = Upsert("matches", data["match_id"], site, time, **parts)
    upsert.values.update(ids)
    return upsert


@projects(_type("match", "proposed"))
def match_proposed(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    upsert = _match(site, time, data, first={"proposed_at": data["proposed_at"]})
    upsert.values.update(method=data["method"], score=data["score"])
    return [upsert]


@projects(_type("match", "confirmed"))
def match_confirmed(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    return [_match(site, time, data, first={"confirmed_at": data["confirmed_at"]})]


@projects(_type("match", "declined"))
def match_declined(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    upsert = _match(site, time, data, first={"declined_at": data["declined_at"]})
    upsert.values.update(declined_by=data["declined_by"], decline_reason=data["reason"])
    return [upsert]


@projects(_type("match", "ended"))
def match_ended(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    upsert = _match(site, time, data, first={"ended_at": data["ended_at"]})
    upsert.values["end_reason"] = data["reason"]
    return [upsert]


@projects(_type("match", "cancelled"))
def match_cancelled(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    upsert = _match(site, time, data, first={"cancelled_at": data["cancelled_at"]})
    upsert.values["cancel_reason"] = data["reason"]
    return [upsert]


# Art events, registrations, attendance, sales --------------------------------------------------


_SCHEDULE = ("group_id", "series_id", "kind", "starts_at", "ends_at", "capacity", "public")


@projects(_type("artevent", "scheduled"), _type("artevent", "changed"))
def artevent_schedule(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    values = {key: data.get(key) for key in _SCHEDULE}
    return [Upsert("art_events", data["event_id"], site, time, values=values)]


@projects(_type("artevent", "cancelled"))
def artevent_cancelled(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    values = {key: data.get(key) for key in ("group_id", "series_id", "kind", "starts_at")}
    values["cancel_reason"] = data["reason"]
    return [
        Upsert("art_events", data["event_id"], site, time, values=values, first={"cancelled_at": data["cancelled_at"]})
    ]


def _registration(site: str, time: datetime, data: dict[str, Any], **parts: Any) -> Upsert:
    upsert = Upsert("registrations", data["registration_id"], site, time, **parts)
    upsert.values.update(
        event_id=data["event_id"],
        person_id=data.get("person_id"),
        guest=data.get("guest_id") is not None,
        with_mentor=data.get("mentor_id") is not None,
        places=data.get("places", 1),
    )
    return upsert


@projects(_type("registration", "confirmed"))
def registration_confirmed(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    return [_registration(site, time, data, first={"confirmed_at": data["confirmed_at"]})]


@projects(_type("registration", "waitlisted"))
def registration_waitlisted(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    return [_registration(site, time, data, first={"waitlisted_at": data["waitlisted_at"]})]


@projects(_type("registration", "promoted"))
def registration_promoted(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    return [_registration(site, time, data, first={"promoted_at": data["promoted_at"]})]


@projects(_type("registration", "cancelled"))
def registration_cancelled(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    upsert = _registration(site, time, data, first={"cancelled_at": data["cancelled_at"]})
    upsert.values["cancel_reason"] = data["reason"]
    return [upsert]


@projects(_type("attendance", "recorded"))
def attendance_recorded(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    keys = ("event_id", "registration_id", "person_id", "status", "headcount", "recorded_at")
    return [Upsert("attendance", data["attendance_id"], site, time, values={k: data.get(k) for k in keys})]


@projects(_type("sale", "recorded"))
def sale_recorded(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    keys = (
        "event_id",
        "group_id",
        "artwork_id",
        "kind",
        "quantity",
        "amount_pence",
        "artist_share_pence",
        "scheme_share_pence",
        "recorded_at",
    )
    return [Upsert("sales", data["sale_id"], site, time, values={k: data.get(k) for k in keys})]


@projects(_type("sale", "voided"))
def sale_voided(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    upsert = Upsert("sales", data["sale_id"], site, time, first={"voided_at": data["voided_at"]})
    upsert.values["void_reason"] = data["reason"]
    return [upsert]


# Notifications ---------------------------------------------------------------------------------


@projects(_type("notification", "sent"))
def notification_sent(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    values = {
        "kind": data["kind"],
        "channel": data["channel"],
        "attempts": data["attempts"],
        "audience": data.get("audience"),
    }
    return [Upsert("deliveries", data["delivery_id"], site, time, values=values, first={"sent_at": data["sent_at"]})]


@projects(_type("notification", "failed"))
def notification_failed(site: str, time: datetime, data: dict[str, Any]) -> list[Upsert]:
    values = {"kind": data["kind"], "channel": data["channel"], "attempts": data["attempts"], "reason": data["reason"]}
    values["audience"] = data.get("audience")
    return [
        Upsert("deliveries", data["delivery_id"], site, time, values=values, first={"failed_at": data["failed_at"]})
    ]
