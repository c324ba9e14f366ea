"""socialpulse ingestion: importable, Airflow-free pipeline code (plan, fetch, land, load, gate, publish)."""
