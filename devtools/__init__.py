"""Dev-checkout tooling, not shipped in the wheel: the local demo (`make demo`, `make airflow-ui`) and the
Airflow/sandbox environment it and the end-to-end tests start (devenv).
"""
