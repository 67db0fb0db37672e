"""The reports' query and bodies (marshmallow)."""

from marshmallow import Schema, fields, validate

from peerlink.config import SITE_SLUG


class ReportQuery(Schema):
    start = fields.Date(data_key="from", metadata={"description": "First day (default: a year before `to`)."})
    end = fields.Date(data_key="to", metadata={"description": "Last day, included (default: today)."})
    sites = fields.List(
        fields.String(validate=validate.Regexp(SITE_SLUG, error="Not a site slug.")),
        data_key="site",
        metadata={"description": "Only these sites (repeat the parameter); default: every site heard from."},
    )
    small_numbers = fields.String(
        load_default="suppress",
        validate=validate.OneOf(["suppress", "show"]),
        metadata={"description": '`suppress` shows counts from 1 to 4 as "<5" (the default, to share).'},
    )


class ReportOut(Schema):
    period_from = fields.Date(data_key="from")
    period_to = fields.Date(data_key="to")
    small_numbers = fields.String()
    sites = fields.Dict(keys=fields.String(), values=fields.Dict(), metadata={"description": "Each site's figures."})
    network = fields.Dict(metadata={"description": "Every site together (counts are the sum of the sites')."})


class LogOut(Schema):
    sites = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.Integer()),
        metadata={"description": "Events held in the log, by site and type."},
    )
    total = fields.Integer()
