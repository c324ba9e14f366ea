"""Load: landing files -> parse -> load gate -> raw tables (the one writer of raw data), the warehouse
DDL and the peer snapshot.
"""
