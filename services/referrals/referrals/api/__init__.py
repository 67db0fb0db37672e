"""The referrals HTTP API: one module per resource."""

from referrals.api import figures, people, referrals, waiting_list

BLUEPRINTS = [referrals.blueprint, figures.blueprint, people.blueprint, waiting_list.blueprint]
