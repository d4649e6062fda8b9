"""Altair chart specs from data and results (pure, tested as Vega-Lite dicts)."""
