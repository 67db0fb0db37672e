"""The central office's figures, per site and for the network, over a period.

Plain Python over read-model rows (anything with the rows' attributes). Counts of people are
by cohort: referrals by the day they were received, waits by the day of the match, so that
cohorts never mix. A network figure is computed over every site's rows (a median of medians
is not a median), and each count in it equals the sum of the sites' own.

Person-linked figures count only people the central office knows (their referral reached it):
someone who did not agree to be counted centrally has their referral kept at the site, and
what other services say about them (a match, an attendance) is left out here too.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from peerlink.contracts.vocabulary import MENTOR_KINDS

MONEY_KINDS = {"auction-lot": "auction", "cards": "cards"}  # everything else is "other"


@dataclass(frozen=True)
class Period:
    start: datetime  # inclusive
    end: datetime  # exclusive

    def holds(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end

    def before_end(self, moment: datetime | None) -> bool:
        return moment is not None and moment < self.end


@dataclass
class Rows:
    """A site's (or the network's) read-model rows."""

    referrals: list[Any]
    waits: list[Any]
    matches: list[Any]
    mentors: list[Any]
    art_events: list[Any]
    registrations: list[Any]
    attendance: list[Any]
    sales: list[Any]
    outcomes: list[Any]
    advocacy: list[Any]
    deliveries: list[Any]

    @classmethod
    def of(cls, by_model: dict[str, list[Any]]) -> Rows:
        return cls(**{name: list(by_model.get(name, [])) for name in cls.__dataclass_fields__})

    def for_site(self, site: str) -> Rows:
        return Rows(**{name: [r for r in getattr(self, name) if r.site == site] for name in self.__dataclass_fields__})


SECTIONS: dict[str, Callable[[Rows, Period], dict[str, Any]]] = {}


def section(
    name: str,
) -> Callable[[Callable[[Rows, Period], dict[str, Any]]], Callable[[Rows, Period], dict[str, Any]]]:
    def register(compute: Callable[[Rows, Period], dict[str, Any]]) -> Callable[[Rows, Period], dict[str, Any]]:
        SECTIONS[name] = compute
        return compute

    return register


def figures(rows: Rows, period: Period, sites: Sequence[str], sections: Iterable[str] | None = None) -> dict[str, Any]:
    """``{"sites": {site: {section: …}}, "network": {section: …}}``."""
    chosen = list(sections or SECTIONS)
    per_site = {site: {name: SECTIONS[name](rows.for_site(site), period) for name in chosen} for site in sites}
    everything = Rows(
        **{name: [r for r in getattr(rows, name) if r.site in sites] for name in Rows.__dataclass_fields__}
    )
    return {"sites": per_site, "network": {name: SECTIONS[name](everything, period) for name in chosen}}


# Referrals and waits -----------------------------------------------------------------------------


@section("referrals")
def referral_figures(rows: Rows, period: Period) -> dict[str, Any]:
    cohort = [r for r in rows.referrals if period.holds(r.received_at)]
    accepted = sum(1 for r in cohort if r.first_accepted_at is not None)
    declined = sum(1 for r in cohort if r.declined_at is not None)
    return {
        "received": len(cohort),
        "by_source": _counts(r.source for r in cohort),
        "by_need": _counts(need for r in cohort for need in (r.support_needs or [])),
        "by_age_band": _counts(r.age_band for r in cohort),
        "self_referrals": sum(1 for r in cohort if r.self_referral),
        "accepted": accepted,
        "declined": declined,
        "withdrawn_before_triage": sum(1 for r in cohort if r.withdrawn_from == "received"),
        "acceptance_rate": round(accepted / (accepted + declined), 3) if accepted + declined else None,
        "started_mentoring": sum(1 for r in cohort if r.activated_at is not None),
        "closed_by_outcome": _counts(r.outcome for r in cohort if _closed(r)),
        "reentries": sum(r.reentries or 0 for r in cohort),
    }


def _closed(referral: Any, before: datetime | None = None) -> bool:
    """Closed (before ``before``, if given) and not reopened since: a reopening accepts the
    referral again, after its last closing."""
    closed, reopened = referral.closed_at, referral.last_accepted_at
    if closed is None or (before is not None and closed >= before):
        return False
    return reopened is None or reopened <= closed or (before is not None and reopened >= before)


@section("waiting")
def waiting_figures(rows: Rows, period: Period) -> dict[str, Any]:
    known = {r.referral_id for r in rows.referrals}
    waits = [w.days_waiting for w in rows.waits if period.holds(w.matched_at) and w.referral_id in known]
    waiting_at_end = [
        r
        for r in rows.referrals
        if period.before_end(r.last_accepted_at)
        and not (r.last_matched_at and r.last_accepted_at <= r.last_matched_at < period.end)
        and not period.before_end(r.withdrawn_at)
        and not _closed(r, period.end)
    ]
    return {
        "matched": len(waits),
        "median_days_waiting": _median(waits),
        "p90_days_waiting": _p90(waits),
        "waiting_at_end": len(waiting_at_end),
    }


# Matches and mentors -----------------------------------------------------------------------------


def _counted_matches(rows: Rows) -> list[Any]:
    known = {r.referral_id for r in rows.referrals}
    return [m for m in rows.matches if m.referral_id in known]


def _active_at_end(match: Any, period: Period) -> bool:
    return period.before_end(match.confirmed_at) and not period.before_end(match.ended_at)


@section("matches")
def match_figures(rows: Rows, period: Period) -> dict[str, Any]:
    matches = _counted_matches(rows)
    return {
        "proposed": sum(1 for m in matches if period.holds(m.proposed_at)),
        "confirmed": sum(1 for m in matches if period.holds(m.confirmed_at)),
        "declined": sum(1 for m in matches if period.holds(m.declined_at)),
        "ended": sum(1 for m in matches if period.holds(m.ended_at)),
        "ended_by_reason": _counts(m.end_reason for m in matches if period.holds(m.ended_at)),
        "active_at_end": sum(1 for m in matches if _active_at_end(m, period)),
    }


@section("mentors")
def mentor_figures(rows: Rows, period: Period) -> dict[str, Any]:
    active = [m for m in rows.mentors if period.before_end(m.registered_at) and not period.before_end(m.left_at)]
    caseload = Counter(m.mentor_id for m in _counted_matches(rows) if _active_at_end(m, period))
    loads = [caseload.get(m.mentor_id, 0) for m in active]
    capacity = sum(m.capacity or 0 for m in active)
    return {
        "active": len(active),
        "by_kind": _counts(m.kind for m in active),
        "welsh_speaking": sum(1 for m in active if "cy" in (m.languages or [])),
        "registered": sum(1 for m in rows.mentors if period.holds(m.registered_at)),
        "left": sum(1 for m in rows.mentors if period.holds(m.left_at)),
        **giver_figures(rows, period, active),
        "caseload_mean": round(statistics.fmean(loads), 2) if loads else None,
        "caseload_max": max(loads) if loads else None,
        # Fairness: how evenly mentoring is shared (0 when every mentor carries the same load).
        "caseload_spread": round(statistics.pstdev(loads), 2) if loads else None,
        "capacity_used": round(sum(loads) / capacity, 3) if capacity else None,
    }


def giver_figures(rows: Rows, period: Period, active: list[Any]) -> dict[str, Any]:
    """ "The receiver as a giver": people once referred in who now give their time back.

    What the wire can say: a mentor's ``person_id`` is their own person id when they were once
    referred in, on ``mentor.registered`` and ``mentor.updated``, with the kind of mentor they
    are (volunteer or paid) and, kept from the registration, the kind they joined as. Group
    facilitators (participants among them) are linked to people only inside the events
    service: no event says who facilitates, so they cannot be counted here.
    """
    givers = [m for m in active if m.person_id is not None]
    joined = [m for m in rows.mentors if period.holds(m.registered_at) and m.person_id is not None]
    return {
        "former_participants": len(givers),
        "former_participants_by_kind": {kind: sum(1 for m in givers if m.kind == kind) for kind in MENTOR_KINDS},
        # Joe's way: a volunteer first, a paid peer mentor now.
        "former_participants_volunteer_to_paid": sum(
            1 for m in givers if m.registered_kind == "volunteer" and m.kind == "paid"
        ),
        "former_participants_registered": len(joined),
        "former_participants_registered_by_kind": {
            kind: sum(1 for m in joined if (m.registered_kind or m.kind) == kind) for kind in MENTOR_KINDS
        },
    }


# Sessions, money --------------------------------------------------------------------------------


@section("sessions")
def session_figures(rows: Rows, period: Period) -> dict[str, Any]:
    in_period = [e for e in rows.art_events if period.holds(e.starts_at)]
    held = [e for e in in_period if e.cancelled_at is None]
    held_ids = {e.event_id for e in held}
    known_people = {r.person_id for r in rows.referrals}
    attendance = [
        a for a in rows.attendance if a.event_id in held_ids and (a.person_id is None or a.person_id in known_people)
    ]
    # A registration that came counts its people (``headcount``); a no-show is one registration
    # whose headcount is 0; a drop-in record is the heads counted at the door.
    came = [a for a in attendance if a.status == "attended"]
    no_shows = sum(1 for a in attendance if a.status == "no-show")
    return {
        "held": len(held),
        "held_by_kind": _counts(e.kind for e in held),
        "cancelled": len(in_period) - len(held),
        "attended": sum(a.headcount or 0 for a in came),
        "no_shows": no_shows,
        "drop_in_headcount": sum(a.headcount or 0 for a in attendance if a.status == "drop-in"),
        "attendance_rate": round(len(came) / (len(came) + no_shows), 3) if came or no_shows else None,
    }


@section("money")
def money_figures(rows: Rows, period: Period) -> dict[str, Any]:
    sales = [s for s in rows.sales if period.holds(s.recorded_at) and s.voided_at is None]
    raised: dict[str, int] = {"auction": 0, "cards": 0, "other": 0}
    for sale in sales:
        raised[MONEY_KINDS.get(sale.kind, "other")] += sale.amount_pence or 0
    return {
        "sales": len(sales),
        "raised_pence": sum(raised.values()),
        "raised_by_kind_pence": raised,
        "scheme_share_pence": sum(s.scheme_share_pence or 0 for s in sales),
        "artist_share_pence": sum(s.artist_share_pence or 0 for s in sales),
        "cards_sold": sum(s.quantity or 0 for s in sales if s.kind == "cards"),
    }


# Outcomes, advocacy, notifications --------------------------------------------------------------


@section("outcomes")
def outcome_figures(rows: Rows, period: Period) -> dict[str, Any]:
    known = {r.referral_id for r in rows.referrals}
    recorded = [o for o in rows.outcomes if period.holds(o.recorded_at) and o.referral_id in known]
    changes = [o.change for o in recorded if o.change is not None]
    return {
        "check_ins": len(recorded),
        "baselines": sum(1 for o in recorded if o.timepoint == "baseline"),
        "follow_ups": len(changes),
        "improved": sum(1 for c in changes if c > 0),
        "mean_change": round(statistics.fmean(changes), 2) if len(changes) >= 5 else None,
    }


@section("advocacy")
def advocacy_figures(rows: Rows, period: Period) -> dict[str, Any]:
    opened = [a for a in rows.advocacy if period.holds(a.opened_at)]
    return {
        "opened": len(opened),
        "opened_by_category": _counts(a.category for a in opened),
        "resolved": sum(1 for a in rows.advocacy if period.holds(a.resolved_at)),
    }


@section("notifications")
def notification_figures(rows: Rows, period: Period) -> dict[str, Any]:
    sent = [d for d in rows.deliveries if period.holds(d.sent_at)]
    failed = [d for d in rows.deliveries if period.holds(d.failed_at)]
    return {
        "sent": len(sent),
        "sent_by_channel": _counts(d.channel for d in sent),
        "failed": len(failed),
        "failed_by_reason": _counts(d.reason for d in failed),
    }


# Helpers ---------------------------------------------------------------------------------------


def _counts(values: Iterable[Any]) -> dict[str, int]:
    counter = Counter(v for v in values if v is not None)
    return dict(sorted(counter.items()))


def _median(values: Sequence[float]) -> float | None:
    return round(float(statistics.median(values)), 1) if values else None


def _p90(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(0, -(-9 * len(ordered) // 10) - 1)])  # nearest rank


def by_site(items: Iterable[Any]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    for item in items:
        grouped[item.site].append(item)
    return grouped
