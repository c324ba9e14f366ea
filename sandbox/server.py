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
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import socket
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sandbox.graph import FAULT_PROFILES, GraphApp, utc_now


@dataclass
class SandboxConfig:
    """Everything that determines the sandbox's behaviour (and, with ``seed``, its data)."""

    accounts: int = 80
    """N Facebook Pages and N Instagram accounts; IG account i is linked to FB Page i."""
    seed: int = 42
    latency_ms: float = 0.0
    """Added to every response (simulates the network round trip to graph.facebook.com)."""
    faults: str = "none"
    """Name of a fault profile in ``sandbox.graph.FAULT_PROFILES`` ("none", "flaky", ...)."""
    now: datetime | None = None
    """The sandbox clock (aware UTC). None = the real clock."""
    api_version: str = "v25.0"
    """Reported version; any /vNN.N/ prefix in request paths is accepted."""

    def validate(self) -> None:
        if self.accounts < 1:
            raise ValueError("accounts must be >= 1")
        if self.latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        if self.faults not in FAULT_PROFILES:
            raise ValueError(f"unknown fault profile {self.faults!r}; known: {sorted(FAULT_PROFILES)}")
        if self.now is not None and self.now.utcoffset() is None:
            raise ValueError("now must be timezone-aware (UTC)")


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
        if length:
            self.rfile.read(length)  # drain a body so the keep-alive stream stays in sync
        sandbox = self.server.sandbox
        host = self.headers.get("Host") or f"{sandbox.host}:{sandbox.port}"
        try:
            status, headers, body = sandbox.app.handle(method, self.path, self.headers, f"http://{host}")
            payload = json.dumps(body, separators=(",", ":")).encode()
        except Exception as exc:  # a sandbox bug must surface as a response, not a dead socket
            status, headers = 500, {}
            payload = json.dumps({"error": {"message": f"sandbox internal error: {exc!r}", "code": 1}}).encode()
        if sandbox.config.latency_ms:
            time.sleep(sandbox.config.latency_ms / 1000.0)
        self.send_response(status)
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

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._conn_lock:
            (self._connections.add if add else self._connections.discard)(conn)

    def close_connections(self) -> None:
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):  # already closed by the client
                conn.shutdown(socket.SHUT_RDWR)


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
        self.app = GraphApp(config, clock=lambda: self.now)
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

    @property
    def graph_url(self) -> str:
        """Graph API base: clients call ``f"{graph_url}/v25.0/{id}/insights?..."``."""
        return f"{self.base_url}/graph"


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
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        print("sandbox stopped", file=sys.stderr, flush=True)
