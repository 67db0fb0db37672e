"""The triage state machine: the table is the rule, and every path through it keeps its promises."""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referrals.domain.intake import Consent
from referrals.domain.workflow import (
    OPEN,
    TRANSITIONS,
    Action,
    IllegalTransition,
    Referral,
    Status,
    allowed_actions,
    apply,
    median_wait_days,
    waiting_list,
)

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
WALES = ZoneInfo("Europe/London")


def referral(status: Status = Status.RECEIVED, **overrides) -> Referral:
    values = {
        "id": uuid.uuid4(),
        "person_id": uuid.uuid4(),
        "site": "ebbw-vale",
        "source": "gp",
        "support_needs": ("alcohol",),
        "consent": Consent(True, False, True, "2026-01", T0),
        "received_at": T0,
        "age_band": "35-44",
        "status": status,
    }
    return Referral(**{**values, **overrides})


EXPECTED = {
    Status.RECEIVED: {Action.ACCEPT, Action.DECLINE, Action.WITHDRAW},
    Status.ACCEPTED: {Action.MATCH, Action.WITHDRAW},
    Status.MATCHED: {Action.START, Action.REQUEUE, Action.WITHDRAW},
    Status.ACTIVE: {Action.CLOSE, Action.REQUEUE, Action.WITHDRAW},
    Status.CLOSED: {Action.REOPEN},
    Status.DECLINED: set(),
    Status.WITHDRAWN: set(),
}


@pytest.mark.parametrize("status", list(Status))
def test_each_status_allows_exactly_its_transitions(status):
    assert {a for (s, a) in TRANSITIONS if s == status} == EXPECTED[status]


@given(st.sampled_from(list(Status)), st.sampled_from(list(Action)))
def test_an_illegal_transition_is_refused_and_names_what_is_allowed(status, action):
    item = referral(status)
    if action in EXPECTED[status]:
        moved, transition = apply(item, action, at=T0, actor="c", reason="completed")
        assert moved.status is TRANSITIONS[(status, action)]
        assert (transition.from_status, transition.to_status) == (status, moved.status)
    else:
        with pytest.raises(IllegalTransition) as raised:
            apply(item, action, at=T0, actor="c")
        assert raised.value.allowed == allowed_actions(status)
        assert item.status is status


@given(st.lists(st.sampled_from(list(Action)), max_size=25))
def test_any_sequence_of_commands_keeps_the_workflow_consistent(actions):
    item = referral()
    at = T0
    for action in actions:
        at += timedelta(days=1)
        try:
            item, transition = apply(item, action, at=at, actor="c", match_id=uuid.uuid4(), reason="completed")
        except IllegalTransition:
            continue
        assert transition.at == at
        # A referral waiting or matched has been accepted; a matched one knows its match.
        if item.status in (Status.ACCEPTED, Status.MATCHED, Status.ACTIVE):
            assert item.accepted_at is not None
        if item.status in (Status.MATCHED, Status.ACTIVE):
            assert item.current_match_id is not None
        if item.status is Status.ACCEPTED:
            assert item.current_match_id is None
        assert (item.closed_at is not None) == (item.status in (Status.CLOSED, Status.DECLINED, Status.WITHDRAWN))
        assert item.is_open == (item.status in OPEN)


def test_the_illegal_transition_message_lists_the_allowed_ones():
    with pytest.raises(IllegalTransition, match="A declined referral cannot be accepted; it is closed to changes"):
        apply(referral(Status.DECLINED), Action.ACCEPT, at=T0, actor="c")
    with pytest.raises(IllegalTransition, match="it can be: started, withdrawn"):
        apply(referral(Status.MATCHED), Action.CLOSE, at=T0, actor="c")


def test_a_requeued_referral_waits_from_when_its_match_ended():
    matched = referral(Status.MATCHED, accepted_at=T0, current_match_id=uuid.uuid4(), matched_at=T0)
    back, _ = apply(matched, Action.REQUEUE, at=T0 + timedelta(days=30), actor="matching", reason="mentor-paused")
    assert back.status is Status.ACCEPTED
    assert back.accepted_at == T0 + timedelta(days=30)
    assert back.current_match_id is None


def test_the_waiting_list_puts_priority_first_then_the_longest_wait():
    old = referral(Status.ACCEPTED, accepted_at=T0)
    new = referral(Status.ACCEPTED, accepted_at=T0 + timedelta(days=5))
    urgent = referral(Status.ACCEPTED, accepted_at=T0 + timedelta(days=9), priority=True)
    matched = referral(Status.MATCHED, accepted_at=T0)
    listed = waiting_list([new, matched, old, urgent], datetime(2026, 11, 15, 8, 0, tzinfo=UTC), WALES)
    assert [w.referral for w in listed] == [urgent, old, new]
    assert [w.days_waiting for w in listed] == [5, 14, 9]


def test_the_median_wait():
    def waits(*lengths):
        return [(T0, T0 + timedelta(days=n)) for n in lengths]

    assert median_wait_days(waits(3, 10, 30), WALES) == 10
    assert median_wait_days(waits(4, 10), WALES) == 7
    assert median_wait_days([], WALES) is None
