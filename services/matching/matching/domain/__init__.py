"""Matching's domain: plain Python and numpy, no Flask, SQLAlchemy or broker.

``policy`` (criteria, weights, safeguarding thresholds), ``mentors`` and ``requests`` (who is
matched), ``scoring`` (hard constraints first, then explainable weighted criteria),
``assignment`` (the optimal whole-group assignment and its greedy baselines), ``matches``
(the match lifecycle), ``feedback`` (what predicted good matches), ``fairness`` (caseloads).
"""
