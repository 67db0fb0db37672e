"""The referrals HTTP API: one module per resource."""

from referrals.api import people, referrals, waiting_list

BLUEPRINTS = [referrals.blueprint, people.blueprint, waiting_list.blueprint]
