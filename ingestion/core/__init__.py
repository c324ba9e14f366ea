"""Shared by every stage: settings, the account registry, platform days and time zones, redaction, run
state, the metric catalogue.
"""
