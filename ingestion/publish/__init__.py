"""Publish: the read-only BI copy of the marts (DuckDB + Parquet) and the nightly HTML report."""
