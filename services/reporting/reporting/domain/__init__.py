"""The central office's domain in plain Python: how each event changes the read models
(projection), the figures computed from them, and the suppression of small numbers."""
