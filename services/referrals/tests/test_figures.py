"""The site's own figures for a cohort: time to triage, acceptance, waits (overall and by
source), what is overdue, whose consent is to be asked again."""

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from peerlink.web.app import ServiceContext
from referrals import commands
from referrals.domain.figures import consent_review_due, site_figures, triage_overdue
from referrals.domain.intake import Consent
from referrals.domain.workflow import Action, Referral, Status, apply
from referrals.store import referrals as referrals_table

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def referral(source="gp", received=T0, **overrides) -> Referral:
    return Referral(
        id=uuid.uuid4(),
        person_id=uuid.uuid4(),
        site="ebbw-vale",
        source=source,
        support_needs=("alcohol",),
        consent=Consent(True, False, True, "2026-01", received),
        received_at=received,
        age_band="35-44",
        **overrides,
    )


def walk(item: Referral, *steps: tuple[Action, int]):
    """Apply actions at T0 + days; returns the referral and its transitions."""
    history = []
    for action, days in steps:
        reason = {"decline": "other", "close": "disengaged", "withdraw": "by-person"}.get(action.value)
        item, transition = apply(item, action, at=T0 + timedelta(days=days), actor="t", reason=reason)
        history.append(transition)
    return item, history


def test_the_cohorts_figures_come_from_its_transitions():
    cohort, transitions = [], []
    for source, steps in [
        ("gp", [(Action.ACCEPT, 2), (Action.MATCH, 12)]),
        ("gp", [(Action.ACCEPT, 4), (Action.MATCH, 34)]),
        ("probation", [(Action.ACCEPT, 1), (Action.MATCH, 21), (Action.START, 22), (Action.CLOSE, 60)]),
        ("self", [(Action.DECLINE, 6)]),
        ("self", [(Action.WITHDRAW, 3)]),
        ("family", []),
    ]:
        item, history = walk(referral(source), *steps)
        cohort.append(item)
        transitions += history
    figures = site_figures(cohort, transitions, now=T0 + timedelta(days=30), today=date(2026, 7, 1))
    assert (figures.received, figures.accepted, figures.declined, figures.withdrawn_before_triage) == (6, 3, 1, 1)
    assert figures.acceptance_rate == 0.75
    assert figures.median_days_to_triage == 3.0  # 2, 4, 1, 6
    assert (figures.awaiting_triage, figures.triage_overdue) == (1, 1)  # the family referral, 30 days old
    assert figures.matched == 3
    assert (figures.wait_for_a_mentor.median_days, figures.wait_for_a_mentor.p90_days) == (20.0, 30.0)
    assert figures.wait_by_source["gp"].count == 2 and figures.wait_by_source["gp"].median_days == 20.0
    assert figures.wait_by_source["probation"].median_days == 20.0
    assert figures.disengaged == 1


def test_a_second_wait_after_a_match_ended_counts_from_the_requeue():
    item, history = walk(referral(), (Action.ACCEPT, 0), (Action.MATCH, 10), (Action.REQUEUE, 40), (Action.MATCH, 45))
    figures = site_figures([item], history, now=T0 + timedelta(days=50), today=date(2026, 7, 21))
    assert figures.matched == 2 and figures.wait_for_a_mentor.median_days == 7.5  # 10 and 5


def test_overdue_triage_and_consent_reviews():
    fresh, old = referral(received=T0), referral(received=T0 - timedelta(days=15))
    assert not triage_overdue(fresh, T0 + timedelta(days=14)) and triage_overdue(old, T0)
    young = referral(status=Status.ACCEPTED)
    young = replace(young, consent=replace(young.consent, review_on=date(2026, 7, 1)))
    assert not consent_review_due(young, date(2026, 6, 30)) and consent_review_due(young, date(2026, 7, 1))
    assert not consent_review_due(replace(young, status=Status.CLOSED), date(2026, 7, 2))


def test_the_figures_endpoint_and_the_list_filters(app, client, tokens, engine, create, act, someone, at):
    header = tokens.header()
    now = datetime(2026, 6, 20, 12, 0, tzinfo=UTC)  # midday: today is the same day in Wales and in UTC
    at(now)
    accepted = create(someone(1))
    act(accepted["id"], "accept")
    declined = create(someone(2, source="self"))
    act(declined["id"], "decline", reason="other")
    waiting = create(someone(3))
    teenager = someone(4)
    teenager["person"]["date_of_birth"] = date(now.year - 17, 1, 1).isoformat()
    young = create(teenager)
    with engine.begin() as conn:  # the calendar moves on: one waits 20 days, one turned 18
        conn.execute(
            referrals_table.update()
            .where(referrals_table.c.id == uuid.UUID(waiting["id"]))
            .values(received_at=now - timedelta(days=20))
        )
        conn.execute(
            referrals_table.update()
            .where(referrals_table.c.id == uuid.UUID(young["id"]))
            .values(consent_review_on=now.date() - timedelta(days=1))
        )
    context: ServiceContext = app.extensions["peerlink"]
    with context.unit_of_work() as uow:
        commands.match_confirmed(
            uow,
            referral_id=uuid.UUID(accepted["id"]),
            match_id=uuid.uuid4(),
            mentor_id=uuid.uuid4(),
            at=now,
        )
        uow.commit()

    figures = client.get("/referrals/figures", headers=header).get_json()
    assert figures["received"] == 4 and figures["accepted"] == 1 and figures["declined"] == 1
    assert figures["acceptance_rate"] == 0.5 and figures["median_days_to_triage"] == 0.0
    assert figures["awaiting_triage"] == 2 and figures["triage_overdue"] == 1
    assert figures["matched"] == 1 and set(figures["wait_by_source"]) == {"gp"}
    assert figures["consent_reviews_due"] == 1
    assert figures["received_to"] == now.date().isoformat()

    def listed(query):
        return {item["id"] for item in client.get(f"/referrals?{query}", headers=header).get_json()["items"]}

    assert listed("triage_overdue=true") == {waiting["id"]}
    assert listed("triage_overdue=false") == {accepted["id"], declined["id"], young["id"]}
    assert listed("consent_review_due=true") == {young["id"]}
    assert waiting["id"] in listed("consent_review_due=false")

    old = client.get("/referrals/figures?received_from=2000-01-01&received_to=2000-12-31", headers=header)
    assert old.status_code == 200 and old.get_json()["received"] == 0
    backwards = client.get("/referrals/figures?received_from=2026-02-01&received_to=2026-01-01", headers=header)
    assert backwards.status_code == 422 and backwards.mimetype == "application/problem+json"
    assert client.get("/referrals/figures", headers=tokens.header("service")).status_code == 403
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(referrals_table)).scalar_one() == 4
