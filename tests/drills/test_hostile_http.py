"""Hostile responses over real HTTP: oversized, endless, trickling, stalled, cut-off and random ones.

The parsers and the registry loader have their property tests (tests/ingestion/test_parsers_hostile.py);
these drills cover the layer below them: whatever a server (or a proxy in front of it) sends, the
HTTP client answers with an `ApiResponse` or a classified `ApiError` within its limits
(`max_body_bytes`, `timeout_s`, `max_response_s`), and a run against such a server completes with
the affected accounts reported, never a crash.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.extract.http import (
    ApiError,
    ApiResponse,
    ErrorClass,
    HttpClient,
    classify_google_error,
    classify_meta_error,
)

SECRET = "EAAHostileDrillToken" + "Zq9" * 10


class _Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    plan: dict = {}

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._answer()

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._answer()

    def _answer(self) -> None:
        plan = type(self).plan
        mode = plan.get("mode", "random")
        try:
            if mode == "random":
                body = plan["body"]
                self.send_response_only(plan["status"])
                for name, value in plan["headers"]:
                    self.send_header(name, value)
                length = plan.get("content_length")
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.end_headers()
                self.wfile.write(body)
                if length is not None and length != len(body):
                    self.close_connection = True
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if mode == "endless":  # chunked, never ends
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b'{"data": [' + b"1," * 32768
                while True:
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.send_header("Content-Length", str(plan.get("length", 10_000)))
            self.end_headers()
            self.wfile.write(b'{"data": [')
            self.wfile.flush()
            if mode == "oversized":
                self.wfile.write(b"0," * (plan["length"] // 2))
            elif mode == "trickle":  # one byte every 0.2 s: never a read timeout, never the end
                for _ in range(10_000):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.2)
            elif mode == "stall":  # the body stops half-way and the connection stays open
                time.sleep(plan.get("stall_s", 5))
            elif mode == "reset":  # TCP RST half-way through the body
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            elif mode == "close":  # the connection closes before Content-Length bytes
                self.close_connection = True
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass


@pytest.fixture(scope="module")
def hostile() -> Iterator[tuple[str, type[_Hostile]]]:
    handler = type("Hostile", (_Hostile,), {"plan": {}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def _send(url: str, client: HttpClient, classify=classify_meta_error, retries: int = 0) -> ApiResponse:
    return client.send("GET", f"{url}/v25.0/123/insights", params={"access_token": SECRET, "metric": "x"},
                       classify=classify, retries=retries)


@pytest.mark.parametrize(
    ("mode", "extra", "error_class", "within_s"),
    [
        ("oversized", {"length": 4 * 1024 * 1024}, ErrorClass.GARBAGE, 10),
        ("endless", {}, ErrorClass.GARBAGE, 10),
        ("trickle", {}, ErrorClass.TRANSIENT, 8),
        ("stall", {"stall_s": 5}, ErrorClass.TRANSIENT, 4),
        ("reset", {}, ErrorClass.TRANSIENT, 4),
        ("close", {}, ErrorClass.TRANSIENT, 4),
    ],
)
def test_oversized_slow_and_broken_bodies_are_cut_off_and_classified(hostile, mode, extra, error_class, within_s):
    url, handler = hostile
    handler.plan = {"mode": mode, **extra}
    client = HttpClient(timeout_s=1.0, max_retries=0, max_body_bytes=1024 * 1024, secrets=(SECRET,))
    started = time.monotonic()
    with pytest.raises(ApiError) as caught:
        _send(url, client)
    elapsed = time.monotonic() - started
    client.close()
    assert caught.value.error_class is error_class, caught.value
    assert elapsed < within_s, f"{mode}: cut off only after {elapsed:.1f} s"
    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value.summary())


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
_header_values = st.one_of(
    st.sampled_from(["1", "0", "-5", "nan", "inf", "1e309", "abc", "", "3.5", "[]", "{}"]),
    _json_values.map(lambda v: json.dumps(v)),
    st.builds(lambda n, k, v: json.dumps({n: [{k: v}]}), st.text(max_size=5),
              st.sampled_from(["call_count", "total_cputime", "total_time", "estimated_time_to_regain_access"]),
              _json_values),
)
_bodies = st.one_of(
    st.binary(max_size=300),
    _json_values.map(lambda v: json.dumps(v).encode()),
    st.builds(lambda e: json.dumps({"error": e}).encode(), _json_values),
    st.builds(lambda code, sub, msg, tr: json.dumps({"error": {"code": code, "error_subcode": sub, "message": msg,
                                                               "is_transient": tr}}).encode(),
              st.one_of(st.integers(-5, 100_000), st.text(max_size=5), st.none()),
              st.one_of(st.integers(-5, 3_000_000), st.none()), st.text(max_size=40), _json_values),
    st.just(b'{"data": [' + b"9" * 5000 + b"]}"),
    st.just(b"<html><body>502 Bad Gateway</body></html>"),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(
    status=st.sampled_from([200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 429, 500, 502, 503, 504, 599]),
    body=_bodies,
    headers=st.lists(st.tuples(st.sampled_from(["Retry-After", "X-App-Usage", "X-Business-Use-Case-Usage",
                                                "Date", "Content-Encoding", "Content-Type"]), _header_values),
                     max_size=3),
    short=st.booleans(),
    google=st.booleans(),
)
def test_any_response_is_a_response_or_a_classified_error(hostile, status, body, headers, short, google):
    url, handler = hostile
    headers = [(n, v) for n, v in headers if n != "Content-Encoding" or v in ("", "1", "abc", "gzip")]
    handler.plan = {"mode": "random", "status": status, "body": body, "headers": headers,
                    "content_length": len(body) + 7 if short else None}
    # One retry with a tiny backoff cap: exercises Retry-After/usage-header handling without waiting.
    client = HttpClient(timeout_s=1.0, max_retries=1, backoff_cap_s=0.01, backoff_base_s=0.001,
                        max_body_bytes=64 * 1024, secrets=(SECRET,))
    try:
        outcome = _send(url, client, classify_google_error if google else classify_meta_error, retries=1)
    except ApiError as error:
        assert isinstance(error.error_class, ErrorClass)
        assert SECRET not in str(error)
    else:
        assert isinstance(outcome, ApiResponse) and outcome.http_status == 200
        assert SECRET not in json.dumps(outcome.params) + outcome.url
    finally:
        client.close()


def test_a_run_against_hostile_youtube_endpoints_reports_the_accounts_and_loads_the_rest(hostile, tmp_path):
    """The whole chain: the YouTube APIs stall in the middle of every body;
    Facebook and Instagram (the sandbox) load, both channels fail with a classified error."""
    from ingestion.core.settings import load_settings
    from ingestion.pipeline import chain as pipeline
    from sandbox.server import SandboxServer
    from tests.drills.harness import AS_OF, environ, pipeline_environ, sandbox_config, write_drill_registry

    url, handler = hostile
    handler.plan = {"mode": "stall", "stall_s": 3}
    registry = write_drill_registry(tmp_path / "accounts.yml")
    with SandboxServer(sandbox_config()) as server:
        env = pipeline_environ(tmp_path / "data", registry, server, SOCIALPULSE_YOUTUBE_DATA_URL=url,
                               SOCIALPULSE_YOUTUBE_ANALYTICS_URL=url, SOCIALPULSE_HTTP_TIMEOUT_S="1",
                               SOCIALPULSE_HTTP_MAX_RETRIES="1")
        with environ(env):
            report = pipeline.run_ingest(load_settings(), AS_OF)
    failed = {(f["platform"], f["account_id"]): f["error_class"] for f in report.failed_accounts}
    assert {p for p, _ in failed} == {"youtube"} and len(failed) == 2
    assert set(failed.values()) == {"transient"}
    loads = {item["platform"]: item["status"] for item in report.loads}
    assert loads["facebook"] == loads["instagram"] == "committed"


_sub_headers = st.lists(st.one_of(
    st.builds(dict, name=st.sampled_from(["X-App-Usage", "X-Business-Use-Case-Usage", "Retry-After"]),
              value=_header_values),
    st.dictionaries(st.text(max_size=5), _json_values, max_size=2),
    _json_values,
), max_size=3)
_sub_answers = st.one_of(
    _json_values,
    st.fixed_dictionaries({}, optional={
        "code": st.one_of(st.sampled_from([200, 400, 500, 403]), _json_values),
        "body": st.one_of(_bodies.map(lambda b: b.decode("utf-8", "replace")), _json_values),
        "headers": st.one_of(_sub_headers, _json_values),
    }),
)


@settings(max_examples=300, deadline=None)
@given(sub=_sub_answers)
def test_any_batch_sub_answer_is_a_response_or_a_classified_error(sub):
    """Graph batch answers carry each sub-response as JSON in JSON: whatever is inside, one outcome."""
    from datetime import UTC, datetime

    from ingestion.core.settings import Settings
    from ingestion.extract.executors import GraphExecutor
    from ingestion.sources import RequestSpec

    executor = GraphExecutor(Settings(), client=HttpClient(secrets=(SECRET,)))
    spec = RequestSpec("facebook", "100000000000001", "insights", "100000000000001/insights", {"metric": "x"})
    batch = ApiResponse(url="u", params={}, http_status=200, fetched_at=datetime.now(UTC), usage_headers={}, body=[])
    outcome = executor._sub_outcome(spec, sub, batch)
    assert isinstance(outcome, ApiResponse | ApiError)
    if isinstance(outcome, ApiError):
        assert isinstance(outcome.error_class, ErrorClass)
        retry = outcome.retry_after_s
        assert retry is None or (retry >= 0 and retry == retry and retry != float("inf"))


@pytest.mark.parametrize("classify", [classify_meta_error, classify_google_error], ids=["graph", "google"])
@pytest.mark.parametrize("status", [500, 401, 400])
def test_an_error_body_that_echoes_the_token_is_redacted(hostile, classify, status):
    """Some gateways echo the credential back in the error message, bare (not as `access_token=`):
    the classified error (what is logged, reported and stored) must not carry it."""
    url, handler = hostile
    message = f"Invalid OAuth access token {SECRET} (token={SECRET}, Authorization: Bearer {SECRET})"
    body = json.dumps({"error": {"message": message, "code": status, "type": "OAuthException",
                                 "errors": [{"reason": "authError", "message": message}]}}).encode()
    handler.plan = {"mode": "random", "status": status, "headers": [("Content-Type", "application/json")],
                    "body": body}
    client = HttpClient(timeout_s=2, max_retries=0, secrets=(SECRET,))
    try:
        with pytest.raises(ApiError) as caught:
            _send(url, client, classify=classify)
    finally:
        client.close()
    error = caught.value
    assert error.http_status == status
    assert SECRET not in str(error) and SECRET not in json.dumps(error.summary()), str(error)
    assert "Invalid OAuth access token ***" in str(error)


@pytest.mark.parametrize("code", [400, 401, 500])
def test_a_batch_sub_answer_that_echoes_the_token_is_redacted(code):
    from datetime import UTC, datetime

    from ingestion.core.settings import Settings
    from ingestion.extract.executors import GraphExecutor
    from ingestion.sources import RequestSpec

    executor = GraphExecutor(Settings(), client=HttpClient(secrets=(SECRET,)))
    spec = RequestSpec("facebook", "100000000000001", "insights", "100000000000001/insights", {"metric": "x"})
    batch = ApiResponse(url="u", params={}, http_status=200, fetched_at=datetime.now(UTC), usage_headers={}, body=[])
    body = json.dumps({"error": {"message": f"Malformed access token {SECRET}", "code": 190, "type": "OAuthException"}})
    outcome = executor._sub_outcome(spec, {"code": code, "headers": [], "body": body}, batch)
    assert isinstance(outcome, ApiError) and outcome.error_class is ErrorClass.AUTH
    assert SECRET not in str(outcome) and "Malformed access token ***" in str(outcome)


@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
def test_an_error_that_echoes_the_appsecret_proof_is_redacted(hostile, batch):
    """The proof is as good as the token for the token's lifetime: an echo of it, bare, is masked
    like the token (the executor registers each proof with the client when it first computes it)."""
    from pydantic import SecretStr

    from ingestion.core.settings import Settings
    from ingestion.extract.executors import GraphExecutor, appsecret_proof
    from ingestion.sources import RequestSpec

    url, handler = hostile
    proof = appsecret_proof(SECRET, "drill-app-secret")
    body = json.dumps({"error": {"message": f"Invalid appsecret_proof provided: {proof}", "code": 100,
                                 "type": "GraphMethodException"}}).encode()
    handler.plan = {"mode": "random", "status": 400, "headers": [("Content-Type", "application/json")],
                    "body": body}
    settings = Settings(graph_url=url, graph_batch=batch, meta_app_secret=SecretStr("drill-app-secret"))
    client = HttpClient(timeout_s=2, max_retries=0, secrets=(SECRET,))
    try:
        spec = RequestSpec("facebook", "100000000000001", "insights", "100000000000001/insights", {"metric": "x"})
        (outcome,) = GraphExecutor(settings, client=client).execute([(spec, SECRET)])
    finally:
        client.close()
    assert isinstance(outcome, ApiError), outcome
    assert proof not in str(outcome) and proof not in json.dumps(outcome.summary()), str(outcome)
    assert "Invalid appsecret_proof provided: ***" in str(outcome)
