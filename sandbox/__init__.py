"""Offline stand-in for the Meta Graph API (Facebook Pages + Instagram), the YouTube Data and
Analytics APIs and the Snapchat Public Profile API (see ``sandbox/README.md``).

Why this exists: the socialpulse pipeline must be developed, tested and benchmarked without live
Meta credentials, without hitting rate limits and without waiting for real days to pass. The
sandbox serves the same URLs, response shapes and error envelopes as the Graph API
(see /work/shared/PLATFORM_APIS.md), backed by a deterministic synthetic data set whose exact
values are also available as *ground truth*, so end-to-end tests can assert that what the
pipeline loaded equals what the "platform" measured.

Modules:

* ``sandbox.data``      - deterministic, lazily generated per-account daily series and audiences
* ``sandbox.content``   - posts, Instagram media and YouTube uploads with lifetime values
* ``sandbox.graph``     - request handling: (method, path, query, headers, body) -> response
* ``sandbox.youtube``   - YouTube Data API ``channels``, Analytics ``reports``, Google OAuth token
* ``sandbox.snapchat``  - Snapchat Public Profile stats (shapes ASSUMED)
* ``sandbox.faults``    - deterministic, bounded fault profiles (global and per account)
* ``sandbox.ratelimit`` - rolling-hour usage counters and the optional call budget
* ``sandbox.server``    - ``SandboxConfig``/``SandboxServer``: a threaded HTTP/1.1 server around it
* ``sandbox.truth``     - ground-truth rows (daily and demographics) for comparing against the warehouse
* ``sandbox.cli``       - ``serve`` / ``truth`` subcommands (``socialpulse sandbox ...``)
"""

from __future__ import annotations

__all__ = ["SandboxConfig", "SandboxServer", "serve_forever", "ground_truth"]


def __getattr__(name: str):
    # Lazy re-exports: importing ``sandbox.data`` alone (e.g. from dbt tests or a notebook)
    # should not pull in the HTTP server machinery.
    if name in ("SandboxConfig", "SandboxServer", "serve_forever"):
        from sandbox import server

        return getattr(server, name)
    if name == "ground_truth":
        from sandbox.truth import ground_truth

        return ground_truth
    raise AttributeError(name)
