"""The chain of stages as plain steps, shared by the CLI and the Airflow task bodies, and failure
classification/alerts.
"""
