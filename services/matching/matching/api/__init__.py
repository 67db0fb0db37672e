"""The matching HTTP API: one module per resource."""

from matching.api import matches, mentors, policy, requests, runs

BLUEPRINTS = [mentors.blueprint, requests.blueprint, matches.blueprint, runs.blueprint, policy.blueprint]
