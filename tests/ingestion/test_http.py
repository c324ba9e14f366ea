"""Error classification from Meta's envelope, and redaction of tokens from everything we emit."""

from __future__ import annotations

import pytest

from ingestion.core.redact import MASK, redact, redact_params
from ingestion.extract.http import ErrorClass, classify_meta_error


def _err(code, subcode=None, message="boom", **extra):
    body = {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbC", **extra}}
    if subcode is not None:
        body["error"]["error_subcode"] = subcode
    return body


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (500, _err(2, is_transient=True), ErrorClass.TRANSIENT),
        (500, _err(1), ErrorClass.TRANSIENT),
        (400, _err(4), ErrorClass.THROTTLED),
        (400, _err(17), ErrorClass.THROTTLED),
        (400, _err(32), ErrorClass.THROTTLED),
        (400, _err(613), ErrorClass.THROTTLED),
        (400, _err(80001), ErrorClass.THROTTLED),
        (400, _err(80002, 2446079), ErrorClass.THROTTLED),
        (400, _err(190, 463, "Error validating access token: Session has expired"), ErrorClass.AUTH),
        (400, _err(190, 460), ErrorClass.AUTH),
        (403, _err(10, message="(#10) Not enough viewers"), ErrorClass.PERMISSION),
        (403, _err(200, message="(#200) Requires business_management permission"), ErrorClass.PERMISSION),
        (400, _err(100, message="(#100) The value must be a valid insights metric"), ErrorClass.RETIRED_METRIC),
        (400, _err(100, message="(#100) metric[0] must be one of the following values: reach"),
         ErrorClass.RETIRED_METRIC),
        (400, _err(100, 33, "Unsupported get request."), ErrorClass.INVALID_REQUEST),
        (502, "<html>Bad gateway</html>", ErrorClass.TRANSIENT),
        (400, ["not", "an", "object"], ErrorClass.GARBAGE),
    ],
)
def test_meta_errors_are_classified_by_code_not_status(status, body, expected):
    assert classify_meta_error(status, body).error_class is expected


def test_classified_error_keeps_code_subcode_and_trace_id():
    error = classify_meta_error(400, _err(190, 463, "expired"))
    assert (error.code, error.subcode, error.fbtrace_id, error.http_status) == (190, 463, "AbC", 400)


def test_tokens_are_redacted_from_urls_headers_and_known_values():
    text = ("GET https://graph.facebook.com/v25.0/1/insights?metric=x&access_token=EAABsecret123"
            "&appsecret_proof=abc123 Authorization: Bearer ya29.secret-token and raw tok-very-secret-42")
    out = redact(text, secrets=("tok-very-secret-42",))
    for secret in ("EAABsecret123", "abc123", "ya29.secret-token", "tok-very-secret-42"):
        assert secret not in out
    assert f"access_token={MASK}" in out and "metric=x" in out


def test_error_messages_are_redacted():
    error = classify_meta_error(400, _err(100, message="bad url ...?access_token=EAAsecretvalue99"))
    assert "EAAsecretvalue99" not in str(error)


def test_redact_params_masks_secret_keys_only():
    assert redact_params({"access_token": "t", "metric": "m", "appsecret_proof": "p"}) == {
        "access_token": MASK, "metric": "m", "appsecret_proof": MASK,
    }
