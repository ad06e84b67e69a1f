"""Alerts before the ranking: rules per agency that warn its managers (by e-mail) and
subscribers (the `alert.raised` webhook) at most once per condition and period."""
