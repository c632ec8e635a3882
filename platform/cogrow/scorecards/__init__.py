"""Scorecards both ways: the supplier's delivery performance and the prime's planning discipline, per month."""
