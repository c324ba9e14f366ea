"""Extract: plan the work, call the platform APIs (HTTP transport, executors, rounds) and land the
verbatim responses.
"""
