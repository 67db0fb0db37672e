"""``/templates``: every kind of message, its Welsh and English files, whether it can be sent,
and a preview with sample (or given) values."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from notifications.api import notifications, schemas
from notifications.domain.kinds import AUDIENCES_OF
from notifications.domain.messages import NoTextVersion, compose_email, compose_text
from notifications.domain.sms import indiscreet_words
from notifications.previews import sample_context
from notifications.templating import KindTemplates, UnknownKind
from peerlink.contracts.vocabulary import MESSAGE_KINDS
from peerlink.web import requires

blueprint = Blueprint("templates", __name__, url_prefix="/templates", description="Message templates")


def _view(described: KindTemplates) -> dict[str, Any]:
    return {
        "kind": described.kind,
        "ready": described.ready,
        "problem": described.problem,
        "has_sms": described.has_sms,
        "audiences": list(AUDIENCES_OF.get(described.kind, ())),
        "files": [{"language": f.language, "name": f.name, "revision": f.revision} for f in described.files.values()],
    }


def _describe(kind: str) -> KindTemplates:
    if kind not in MESSAGE_KINDS:
        raise UnknownKind(kind)
    return notifications().templates.describe(kind)


@blueprint.route("")
class Templates(MethodView):
    @requires("coordinator", "service")
    @blueprint.response(200, schemas.TemplateOut(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every kind of message: its files, their revisions, and whether it is ready to send."""
        templates = notifications().templates
        found = []
        for kind in MESSAGE_KINDS:
            try:
                found.append(_view(templates.describe(kind)))
            except UnknownKind:
                found.append(
                    {"kind": kind, "ready": False, "problem": "there are no templates", "has_sms": False, "files": []}
                )
        return found


@blueprint.route("/<kind>")
class TemplateByKind(MethodView):
    @requires("coordinator", "service")
    @blueprint.response(200, schemas.TemplateDetailOut)
    def get(self, kind: str) -> dict[str, Any]:
        """One kind, with the source of each file."""
        described = _describe(kind)
        templates = notifications().templates
        return {**_view(described), "sources": {lang: templates.source(kind, lang) for lang in described.files}}


@blueprint.route("/<kind>/preview")
class Preview(MethodView):
    @requires("coordinator", "service")
    @blueprint.arguments(schemas.PreviewIn)
    @blueprint.response(200, schemas.PreviewOut)
    def post(self, body: dict[str, Any], kind: str) -> dict[str, Any]:
        """Render a kind as its recipient would get it, with sample values or those given; also
        shows a kind that is not ready yet (for the translator), saying why it would not be sent."""
        described = _describe(kind)
        api = notifications()
        audience = body.get("audience") or AUDIENCES_OF[kind][0]
        context = {
            **sample_context(kind, audience=audience, given_name=body["given_name"], site=api.site),
            **body["values"],
        }
        languages = ("cy", "en") if body["language"] == "both" else (body["language"],)
        email = compose_email(kind, languages, context, api.templates.render)
        sms = None
        if described.has_sms:
            try:
                text = compose_text(kind, languages, context, api.templates.render)
                sms = {
                    "text": text.text,
                    "encoding": text.size.encoding,
                    "units": text.size.units,
                    "segments": text.size.segments,
                    "indiscreet_words": indiscreet_words(text.text),
                }
            except NoTextVersion:
                sms = None
        return {
            "kind": kind,
            "languages": list(languages),
            "ready": described.ready,
            "problem": described.problem,
            "subject": email.subject,
            "body": email.body,
            "sms": sms,
        }
