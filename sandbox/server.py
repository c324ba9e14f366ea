"""Threaded HTTP/1.1 server exposing ``sandbox.graph.GraphApp`` on localhost.

Why these choices:

* ``ThreadingHTTPServer`` with daemon threads: stdlib only, and concurrent clients (the pipeline
  fetches accounts in parallel) must not serialise behind one slow request.
* HTTP/1.1 with ``Content-Length`` on every response so ``requests.Session`` can keep connections
  alive -- otherwise each call pays a TCP handshake and benchmarks measure the sandbox, not the
  pipeline.
* The sandbox clock (``SandboxConfig.now``) drives "today" *and* the ``Date`` header, so clients
  that derive the run date from server time see one consistent world. It is frozen at ``now``
  unless changed with ``SandboxServer.set_now`` (tests can simulate "the next night").
* ``stop()`` closes idle keep-alive connections too, so tests don't leak blocked threads.
* Transport faults happen here because only the socket layer can do them: a held response
  (``delay_s``), a connection reset (RST via ``SO_LINGER 0``), and raw non-JSON / truncated bodies.
* Two clocks: the *sandbox clock* (``now``; decides "today", data availability, restatements) and
  the *rate clock* (monotonic seconds; rate windows, throttles, Retry-After). ``advance(seconds)``
  moves both, so a test can jump over a throttle window without sleeping.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sandbox.faults import parse_profiles
from sandbox.graph import GraphApp
from sandbox.graph_helpers import utc_now


@dataclass
class SandboxConfig:
    """Everything that determines the sandbox's behaviour (and, with ``seed``, its data)."""

    accounts: int = 80
    """N Facebook Pages and N Instagram accounts; IG account i is linked to FB Page i."""
    seed: int = 42
    latency_ms: float = 0.0
    """Added to every response (simulates the network round trip to graph.facebook.com)."""
    faults: str = "none"
    """Fault profile(s) for every request: a name from ``sandbox.faults.FAULT_PROFILES`` or a comma
    list ("5xx,latency"). Transient profiles hit a seeded fraction of requests."""
    now: datetime | None = None
    """The sandbox clock (aware UTC). None = the real clock."""
    api_version: str = "v25.0"
    """Reported version; any /vNN.N/ prefix in request paths is accepted."""
    account_faults: dict[str, str] = field(default_factory=dict)
    """Per-account fault profiles: {account id (Page, IG user, YouTube channel, Snapchat profile):
    "profile[,profile]"}; replaces ``faults`` for that account and hits every request about it."""
    fault_max_consecutive: int = 2
    """K: a transient fault hits one request at most K times in a row (a client with K retries wins)."""
    fault_timeout_s: float = 35.0
    """How long the ``timeout`` profile holds a response (longer than the pipeline's 30 s timeout)."""
    fault_throttle_minutes: int = 1
    """``throttle`` profile: minutes an object stays throttled (its estimated_time_to_regain_access)."""
    call_budget_per_hour: int | None = None
    """Calls per business object (Page / IG user) per rolling hour before 80001/80002; None = unlimited."""
    restatements: bool = True
    """Activity values of the last two complete days are preliminary (see ``sandbox.graph``)."""
    youtube_channels: int = 10
    """YouTube channels ``data.youtube_channel_id(1..N)``."""
    youtube_quota_per_day: int | None = 10_000
    """YouTube Data API units per Pacific day (1 per request); None = unlimited."""
    snapchat_profiles: int = 0
    """Snapchat Public Profiles ``data.snapchat_profile_id(1..N)``."""

    def validate(self) -> None:
        if self.accounts < 1:
            raise ValueError("accounts must be >= 1")
        if self.latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        parse_profiles(self.faults)
        for account, profiles in self.account_faults.items():
            if not isinstance(account, str) or not account:
                raise ValueError("account_faults keys must be account ids (strings)")
            parse_profiles(profiles)
        if self.now is not None and self.now.utcoffset() is None:
            raise ValueError("now must be timezone-aware (UTC)")
        if self.fault_max_consecutive < 1:
            raise ValueError("fault_max_consecutive must be >= 1")
        if self.fault_timeout_s < 0 or self.fault_throttle_minutes < 1:
            raise ValueError("fault_timeout_s must be >= 0 and fault_throttle_minutes >= 1")
        if self.call_budget_per_hour is not None and self.call_budget_per_hour < 1:
            raise ValueError("call_budget_per_hour must be >= 1 or None")
        if self.youtube_channels < 0 or self.snapchat_profiles < 0:
            raise ValueError("youtube_channels and snapchat_profiles must be >= 0")
        if self.youtube_quota_per_day is not None and self.youtube_quota_per_day < 0:
            raise ValueError("youtube_quota_per_day must be >= 0 or None")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SocialPulseSandbox/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are dropped after this many seconds
    # Headers and body go out as separate writes; with Nagle on, the body waits for the client's
    # delayed ACK (~40 ms per keep-alive request).
    disable_nagle_algorithm = True

    server: _HTTPServer  # type: ignore[assignment]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # per-request logging would dominate benchmark output and time

    def version_string(self) -> str:
        return self.server_version

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header comes from the sandbox clock, not the host clock.
        return email.utils.format_datetime(self.server.sandbox.now.astimezone(UTC), usegmt=True)

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        # Read the body (batch requests, OAuth forms); it also keeps the keep-alive stream in sync.
        raw_body = self.rfile.read(length) if length else b""
        sandbox = self.server.sandbox
        host = self.headers.get("Host") or f"{sandbox.host}:{sandbox.port}"
        action = None
        delay = sandbox.config.latency_ms / 1000.0
        try:
            resp = sandbox.app.handle(method, self.path, self.headers, f"http://{host}", raw_body)
            status, headers, action = resp.status, resp.headers, resp.action
            delay += resp.delay_s
            payload = resp.raw if resp.raw is not None else json.dumps(resp.body, separators=(",", ":")).encode()
        except Exception as exc:  # a sandbox bug must surface as a response, not a dead socket
            status, headers = 500, {}
            payload = json.dumps({"error": {"message": f"sandbox internal error: {exc!r}", "code": 1}}).encode()
        if delay:
            time.sleep(delay)
        if action == "reset":
            # RST instead of FIN: the client sees "connection reset by peer" mid-request.
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            self.close_connection = True
            return
        self.send_response(status)
        if "Content-Type" not in headers:
            self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(payload)

    def do_GET(self) -> None:  # noqa: N802
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that gave up (timeout drills, resets) is normal here, not worth a traceback.
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError | OSError):
            return
        super().handle_error(request, client_address)

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._conn_lock:
            (self._connections.add if add else self._connections.discard)(conn)

    def close_connections(self) -> None:
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):  # already closed by the client
                conn.shutdown(socket.SHUT_RDWR)


def _below_base(path: str, doc: str) -> property:
    """A read-only URL of the running server: its ``base_url`` followed by `path`."""
    return property(lambda server: f"{server.base_url}{path}", doc=doc)


class SandboxServer:
    """The sandbox as a context manager: ``with SandboxServer(cfg).start() as s: s.graph_url``.

    ``port=0`` picks a free port; read it back from ``base_url``.
    """

    def __init__(self, config: SandboxConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        config.validate()
        self.config = config
        self.host = host
        self._requested_port = port
        self._now = config.now
        self._rate_offset = 0.0
        self.app = GraphApp(config, clock=lambda: self.now, rate_clock=self.rate_clock)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- clock ------------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The sandbox clock: the configured (frozen) instant, or the real clock if None."""
        return self._now if self._now is not None else utc_now()

    def set_now(self, now: datetime | None) -> None:
        """Move the sandbox clock (e.g. to simulate the next night) without a restart."""
        if now is not None and now.utcoffset() is None:
            raise ValueError("now must be timezone-aware (UTC)")
        self._now = now

    def rate_clock(self) -> float:
        """Monotonic seconds for rate windows and throttles (real time + ``advance``)."""
        return time.monotonic() + self._rate_offset

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass: the rate clock moves (rate windows, throttles lift) and a frozen
        sandbox clock moves with it."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._rate_offset += seconds
        if self._now is not None:
            self._now = self._now + timedelta(seconds=seconds)

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> SandboxServer:
        """Bind and serve in a background daemon thread; returns self for chaining."""
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer((self.host, self._requested_port), self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="sandbox-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the listening socket and any idle keep-alive connections."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses --------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("sandbox server is not started")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server."""
        return f"http://{self.host}:{self.port}"

    # Each platform's API base: a path below this server's base_url (clients swap only the base).
    graph_url = _below_base("/graph", 'Graph API base: clients call ``f"{graph_url}/v25.0/{id}/insights?..."``.')
    youtube_data_url = _below_base(
        "/youtube/v3", 'Stands for ``https://www.googleapis.com/youtube/v3``: ``f"{youtube_data_url}/channels?..."``.')
    youtube_analytics_url = _below_base(
        "/youtubeanalytics/v2", 'Stands for ``https://youtubeanalytics.googleapis.com/v2``: ``f"{url}/reports?..."``.')
    google_token_url = _below_base("/oauth2/token", "Stands for ``https://oauth2.googleapis.com/token`` (POST).")
    snapchat_url = _below_base(
        "/snapchat/v1", 'Stands for ``https://businessapi.snapchat.com/v1``: ``f"{url}/public_profiles/{id}/stats"``.')


def serve_forever(config: SandboxConfig, host: str = "127.0.0.1", port: int = 8800) -> None:
    """Run the sandbox in the foreground until Ctrl-C or SIGTERM.

    The first stdout line is exactly ``sandbox listening on http://HOST:PORT`` (flushed), so a
    parent process can start it with ``--port 0`` and read the chosen port.
    """
    import signal

    server = SandboxServer(config, host=host, port=port).start()
    stop = threading.Event()

    def _terminate(signum: int, frame: object) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    print(f"sandbox listening on {server.base_url}", flush=True)
    print(
        f"graph api: {server.graph_url}/{config.api_version}  accounts={config.accounts} seed={config.seed} "
        f"faults={config.faults} now={config.now.isoformat() if config.now else 'real clock'}",
        flush=True,
    )
    print(
        f"youtube data api: {server.youtube_data_url}  youtube analytics: {server.youtube_analytics_url}  "
        f"google oauth: {server.google_token_url}  channels={config.youtube_channels}",
        flush=True,
    )
    print(f"snapchat: {server.snapchat_url}  profiles={config.snapchat_profiles}", flush=True)
    if config.account_faults:
        print(f"account faults: {len(config.account_faults)} account(s)", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        print("sandbox stopped", file=sys.stderr, flush=True)
