"""Domain refusals as problem+json: each says what went wrong and what is allowed."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, Response

from matching.commands import (
    CapacityBelowLoad,
    IdempotencyConflict,
    NotEligible,
    NotFound,
    NotWaiting,
    NotWaitingIds,
    RunNotDraft,
)
from matching.domain.feedback import InvalidFeedback
from matching.domain.matches import IllegalMatchChange
from matching.domain.mentors import IllegalMentorChange, InvalidMentor
from matching.domain.policy import InvalidPolicy
from peerlink.web import problem


def pointer(field: str) -> str:
    return "/" + field.replace(".", "/")


def install(app: Flask) -> None:
    @app.errorhandler(NotFound)
    def not_found(exc: NotFound) -> Response:
        return problem(404, str(exc))

    @app.errorhandler(IdempotencyConflict)
    def key_reused(exc: IdempotencyConflict) -> Response:
        return problem(422, str(exc), errors=[{"parameter": "Idempotency-Key", "detail": str(exc)}])

    @app.errorhandler(NotEligible)
    def not_eligible(exc: NotEligible) -> Response:
        return problem(
            409,
            str(exc),
            title="A hard constraint forbids this pair",
            exclusions=[{"code": e.code, "reason": e.reason} for e in exc.exclusions],
        )

    @app.errorhandler(NotWaiting)
    def not_waiting(exc: NotWaiting) -> Response:
        return problem(409, str(exc), title="Not waiting for a mentor", status_now=exc.request.status.value)

    @app.errorhandler(NotWaitingIds)
    def not_waiting_ids(exc: NotWaitingIds) -> Response:
        return problem(
            422,
            str(exc),
            errors=[{"pointer": "/request_ids", "detail": f"{i} is not a waiting request."} for i in exc.ids],
        )

    @app.errorhandler(CapacityBelowLoad)
    def capacity(exc: CapacityBelowLoad) -> Response:
        return problem(409, str(exc), title="Capacity below the mentor's current load", taken=exc.taken)

    @app.errorhandler(RunNotDraft)
    def run_not_draft(exc: RunNotDraft) -> Response:
        return problem(409, str(exc), title="Not a draft", status_now=exc.status)

    @app.errorhandler(IllegalMatchChange)
    def illegal_match(exc: IllegalMatchChange) -> Response:
        return problem(
            409, str(exc), title="Not allowed in this state", status_now=exc.status.value, allowed_actions=exc.allowed
        )

    @app.errorhandler(IllegalMentorChange)
    def illegal_mentor(exc: IllegalMentorChange) -> Response:
        return problem(
            409, str(exc), title="Not allowed in this state", status_now=exc.status.value, allowed_actions=exc.allowed
        )

    @app.errorhandler(InvalidMentor)
    def invalid_mentor(exc: InvalidMentor) -> Response:
        return problem(422, str(exc), errors=[{"pointer": pointer(exc.field), "detail": str(exc)}])

    @app.errorhandler(InvalidPolicy)
    def invalid_policy(exc: InvalidPolicy) -> Response:
        return problem(422, str(exc), errors=[{"pointer": pointer(exc.field), "detail": str(exc)}])

    @app.errorhandler(InvalidFeedback)
    def invalid_feedback(exc: InvalidFeedback) -> Response:
        return problem(409, str(exc), title="No feedback yet")

    @app.errorhandler(sa.exc.IntegrityError)
    def raced(exc: sa.exc.IntegrityError) -> Response:
        # Another request won a race for the same row (a request's one live match, a key).
        return problem(409, "Someone changed this at the same moment; look again and retry.", title="Conflict")
