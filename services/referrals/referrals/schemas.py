"""The API's bodies (marshmallow). Event schemas live in ``peerlink.contracts``."""

from marshmallow import Schema, fields, validate

from peerlink.contracts.vocabulary import CONTACT_CHANNELS, LANGUAGES, REFERRAL_SOURCES, SUPPORT_NEEDS

_name = validate.Length(min=1, max=100)


class ContactIn(Schema):
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    phone = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^\+?[0-9 ()-]{7,20}$", error="Not a phone number."),
    )
    channels = fields.List(
        fields.String(validate=validate.OneOf(CONTACT_CHANNELS)),
        required=True,
        validate=validate.Length(max=len(CONTACT_CHANNELS)),
        metadata={"description": "The channels the person agrees to be contacted on (may be empty)."},
    )
    safe_to_text = fields.Boolean(
        load_default=False, metadata={"description": "Whether a text to this phone is safe to send."}
    )


class PersonIn(Schema):
    given_name = fields.String(required=True, validate=_name)
    family_name = fields.String(required=True, validate=_name)
    date_of_birth = fields.Date(required=True)
    preferred_language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    contact = fields.Nested(ContactIn, required=True)


class ConsentIn(Schema):
    share_with_mentor = fields.Boolean(
        required=True, metadata={"description": "Consent to share the referral with the peer mentoring team."}
    )
    counted_in_figures = fields.Boolean(
        required=True, metadata={"description": "Consent to be counted in the central office's anonymised figures."}
    )
    wording_version = fields.String(
        required=True, validate=validate.Length(min=1, max=40), metadata={"description": "The consent text agreed to."}
    )


class ReferralIn(Schema):
    site = fields.String(required=True, metadata={"description": "The site slug; must be this instance's site."})
    person = fields.Nested(PersonIn, required=True)
    source = fields.String(required=True, validate=validate.OneOf(REFERRAL_SOURCES))
    support_needs = fields.List(
        fields.String(validate=validate.OneOf(SUPPORT_NEEDS)),
        required=True,
        validate=validate.Length(min=1, max=len(SUPPORT_NEEDS)),
    )
    interests = fields.List(
        fields.String(validate=validate.Length(min=1, max=40)), load_default=list, validate=validate.Length(max=20)
    )
    consent = fields.Nested(ConsentIn, required=True)


class ConsentOut(Schema):
    share_with_mentor = fields.Boolean()
    counted_in_figures = fields.Boolean()
    wording_version = fields.String()
    given_at = fields.AwareDateTime()


class ReferralOut(Schema):
    id = fields.UUID()
    person_id = fields.UUID()
    site = fields.String()
    source = fields.String()
    support_needs = fields.List(fields.String())
    interests = fields.List(fields.String())
    status = fields.String()
    consent = fields.Nested(ConsentOut)
    received_at = fields.AwareDateTime()


class ReferralQuery(Schema):
    status = fields.String(
        validate=validate.OneOf(["received", "accepted", "declined", "matched", "active", "closed", "withdrawn"])
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class ReferralPage(Schema):
    items = fields.List(fields.Nested(ReferralOut))
    total = fields.Integer()
