"""Quality gates: the GX engine and load-gate suites, the mart gate before publish, and the quarantine
of failed batches.
"""
