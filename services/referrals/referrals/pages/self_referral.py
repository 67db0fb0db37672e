"""``/self-referral``: a person refers themselves, in Welsh or English, through the same
intake as the API (same schema, same eligibility, same transaction and events).

The page works without JavaScript, keeps every answer when something needs correcting, names
each problem in the person's language next to its field and in a summary at the top, and
takes a double-clicked or resent form once (its hidden form id is an idempotency key).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any
from urllib.parse import urlencode

import jinja2
import marshmallow as ma
from flask import Blueprint, Response, redirect, request, url_for
from werkzeug.datastructures import MultiDict

from peerlink.bilingual import site_name
from peerlink.contracts.vocabulary import (
    AVAILABILITY_SLOTS,
    CONTACT_CHANNELS,
    INTERESTS,
    MENTOR_GENDER_PREFERENCES,
    SUPPORT_NEEDS,
)
from peerlink.web import public, service
from peerlink.web.forms import CSRF_FIELD, CsrfRefused, accepts_forms, check_csrf, csrf_token, html_page, new_nonce
from peerlink.web.idempotency import fingerprint
from peerlink.web.ratelimit import RateLimited, rate_limited, retry_after
from referrals import clock
from referrals.api import schemas
from referrals.api.referrals import current_zone, new_referral_from, take
from referrals.commands import IdempotencyConflict, IntakeRaced
from referrals.domain import days, intake
from referrals.domain.intake import IneligibleReferral
from referrals.pages import wording

log = logging.getLogger(__name__)

blueprint = Blueprint("self_referral", __name__)

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("referrals", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
# Where each intake field's error is shown on the form: the API's JSON pointer -> the form field.
_FIELD_FOR_POINTER = {
    "/person/given_name": "given_name",
    "/person/family_name": "family_name",
    "/person/date_of_birth": "date_of_birth",
    "/person/preferred_language": "preferred_language",
    "/person/contact/email": "email",
    "/person/contact/phone": "phone",
    "/person/contact/channels": "channels",
    "/support_needs": "support_needs",
    "/interests": "interests",
    "/availability": "availability",
    "/preferences/mentor_gender": "mentor_gender",
    "/consent/share_with_mentor": "share_with_mentor",
}
_FORM_ORDER = list(dict.fromkeys(_FIELD_FOR_POINTER.values()))


def chosen_language() -> str:
    """``?lang=`` (or the form's own) first, then the browser's preference, then English."""
    asked = request.values.get("lang")
    if asked in wording.LANGUAGES:
        return asked
    return request.accept_languages.best_match(wording.LANGUAGES, default="en") or "en"


@blueprint.get("/self-referral")
@public
def form() -> Response:
    return _render_form(chosen_language(), MultiDict(), {})


# Anyone on the internet can post this form: ten posts (corrections included) in ten minutes from
# one address is more than a person needs and far less than a flood.
SUBMISSIONS = "10 per 10 minutes"


@blueprint.post("/self-referral")
@public
@accepts_forms
@rate_limited(SUBMISSIONS)
def submit() -> Response:
    language = chosen_language()
    try:
        check_csrf()
    except CsrfRefused as refused:
        log.warning("self-referral refused", extra={"reason": refused.reason})
        return _render("form_refused.html.j2", language, status=403)
    answers = request.form
    body = _intake_body(answers)
    # Each field at fault, with what is wrong with it: "missing", "invalid" or a rule's code.
    faults = _shape_faults(answers)
    loaded: dict[str, Any] = {}
    try:
        loaded = schemas.ReferralIn().load(body)
    except ma.ValidationError as invalid:
        for field, fault in _schema_faults(invalid.normalized_messages()).items():
            faults.setdefault(field, fault)
    if not faults:
        try:
            taken = take(
                new_referral_from(loaded, self_referral=True),
                idempotency=_form_key(answers.get("form_id", ""), body),
            )
        except IneligibleReferral as ineligible:
            faults[_FIELD_FOR_POINTER.get("/" + ineligible.field.replace(".", "/"), "given_name")] = ineligible.code
        except (IdempotencyConflict, IntakeRaced):
            # The same form sent again with other answers after it was taken (or while it was
            # being taken): the first one stands.
            return redirect(url_for(".received", lang=language), code=303)
        else:
            reference = str(taken.referral.id)[:8].upper()
            return redirect(url_for(".received", lang=language, ref=reference), code=303)
    messages = {field: wording.error_message(field, fault, language) for field, fault in faults.items()}
    return _render_form(language, answers, messages, status=422)


@blueprint.errorhandler(RateLimited)
def too_many(exc: RateLimited) -> Response:
    minutes = str(max(1, -(-exc.retry_after // 60)))
    response = _render("too_many.html.j2", chosen_language(), status=429, minutes=minutes)
    return retry_after(response, exc)


@blueprint.get("/self-referral/received")
@public
def received() -> Response:
    reference = request.args.get("ref", "")
    if not (len(reference) == 8 and reference.isalnum()):
        reference = ""
    return _render("received.html.j2", chosen_language(), reference=reference)


# The form <-> the intake body ---------------------------------------------------------------


def _intake_body(answers: MultiDict[str, str]) -> dict[str, Any]:
    """The API's intake body from the form's answers (the schema then checks it as for the API)."""

    def text(name: str) -> str | None:
        value = answers.get(name, "").strip()
        return value or None

    return {
        "site": service().settings.site,
        "person": {
            "given_name": text("given_name") or "",
            "family_name": text("family_name") or "",
            "date_of_birth": _date_of_birth(answers),
            "preferred_language": text("preferred_language") or "",
            "contact": {
                "email": text("email"),
                "phone": text("phone"),
                "channels": answers.getlist("channels"),
                "safe_to_text": answers.get("safe_to_text") == "yes",
            },
        },
        "source": "self",
        "support_needs": answers.getlist("support_needs"),
        "interests": answers.getlist("interests"),
        "availability": answers.getlist("availability"),
        "preferences": {
            "mentor_gender": text("mentor_gender") or "no-preference",
            "welsh_speaking_mentor": answers.get("welsh_speaking_mentor") == "yes",
        },
        "consent": {
            "share_with_mentor": answers.get("share_with_mentor") == "yes",
            "share_with_gp": answers.get("share_with_gp") == "yes",
            "counted_in_figures": answers.get("counted_in_figures") == "yes",
            "wording_version": wording.CONSENT_VERSION,
        },
    }


def _date_of_birth(answers: MultiDict[str, str]) -> str:
    parts = [answers.get(f"dob_{part}", "").strip() for part in ("day", "month", "year")]
    if not all(part.isdigit() for part in parts):
        return ""
    day, month, year = (int(part) for part in parts)
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return ""


def _shape_faults(answers: MultiDict[str, str]) -> dict[str, str]:
    """What the schema cannot tell apart on a form: an empty field from a malformed one."""
    faults: dict[str, str] = {}
    for name in ("given_name", "family_name", "preferred_language"):
        if not answers.get(name, "").strip():
            faults[name] = "missing"
    parts = [answers.get(f"dob_{p}", "").strip() for p in ("day", "month", "year")]
    if not any(parts):
        faults["date_of_birth"] = "missing"
    elif not _date_of_birth(answers) or len(parts[2]) != 4:
        faults["date_of_birth"] = "invalid"
    else:
        try:
            today = days.day_of(clock.now(), current_zone())  # the site's day, as intake takes it
            intake.check_age(dt.date.fromisoformat(_date_of_birth(answers)), today)
        except IneligibleReferral as ineligible:
            faults["date_of_birth"] = ineligible.code
    if not answers.getlist("support_needs"):
        faults["support_needs"] = "missing"
    return faults


def _schema_faults(messages: dict[str, Any]) -> dict[str, str]:
    from peerlink.web.problems import field_errors

    faults: dict[str, str] = {}
    for error in field_errors({"json": messages}):
        pointer = error.get("pointer", "")
        field = next((f for p, f in _FIELD_FOR_POINTER.items() if pointer == p or pointer.startswith(p + "/")), None)
        faults.setdefault(field or "given_name", "invalid")
    return faults


def _form_key(form_id: str, body: dict[str, Any]) -> tuple[str, str] | None:
    try:
        key = str(uuid.UUID(form_id))
    except ValueError:
        return None
    return f"self-referral:{key}", fingerprint(body)


# Rendering ----------------------------------------------------------------------------------


def _render_form(language: str, answers: MultiDict[str, str], errors: dict[str, str], status: int = 200) -> Response:
    ordered = sorted(errors.items(), key=lambda item: _FORM_ORDER.index(item[0]) if item[0] in _FORM_ORDER else 99)
    return _render(
        "self_referral.html.j2",
        language,
        status=status,
        answers=answers,
        errors=dict(ordered),
        form_id=answers.get("form_id") or str(uuid.uuid4()),
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(),
        labels=wording.LABELS,
        support_needs=SUPPORT_NEEDS,
        interests=INTERESTS,
        channels=[c for c in CONTACT_CHANNELS if c != "post"],
        genders=MENTOR_GENDER_PREFERENCES,
        days=list(dict.fromkeys(slot.split("-")[0] for slot in AVAILABILITY_SLOTS)),
        parts=list(dict.fromkeys(slot.split("-")[1] for slot in AVAILABILITY_SLOTS)),
    )


def _render(template: str, language: str, *, status: int = 200, **values: Any) -> Response:
    site = site_name(service().settings.site)[language]
    text = {key: value.replace("{site}", site) for key, value in wording.TEXT[language].items()}
    nonce = new_nonce()
    other = "en" if language == "cy" else "cy"
    html = _templates.get_template(template).render(
        lang=language,
        other=other,
        other_href=f"{request.path}?{urlencode({**request.args.to_dict(), 'lang': other})}",
        t=text,
        site=site,
        nonce=nonce,
        **values,
    )
    return html_page(html, status, nonce=nonce)
