"""Shared pieces of the socialpulse DAG files (Assets, default args); not DAG files themselves."""
