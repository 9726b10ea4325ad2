"""Incident extracts of the police (issue 18): import, the 14-day analysis, near-repeat and hotspots.

Incident-level data are police-internal: they stay in the local warehouse; everything that leaves
it (reports, maps, tables) is aggregated to buurt or grid cells and marked "politie-intern".
"""
