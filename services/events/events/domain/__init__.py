"""The events domain: plain Python, no Flask, SQLAlchemy or kombu.

``timing`` (wall times in a zone, DST rules), ``recurrence`` (RFC 5545 rules of a series),
``schedule`` (groups, events, series and their changes), ``registration`` (places, the
waiting list, promotion), ``attendance``, ``sales`` (artworks, lots, bids, the split), and
``wire`` (the data of every event this service emits).
"""
