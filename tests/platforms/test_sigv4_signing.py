"""SigV4: our signer writes botocore's signature byte for byte; the checker accepts exactly the
requests signed with the right secret."""

from __future__ import annotations

import calendar
import time
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from claude_arch.core.platforms.sigv4 import AwsCredentials, sign, verify_signature

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
URLS = [
    "https://bedrock-runtime.us-east-1.amazonaws.com/model/global.anthropic.claude-haiku-4-5-20251001-v1:0/invoke",
    "http://127.0.0.1:4010/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fus.x/count-tokens",
    "https://h.example/a/./b/../c//d/?z=1&a=%20b",
]


def _botocore_signed(url: str, body: bytes, token: str | None) -> dict[str, str]:
    request = AWSRequest(
        method="POST", url=url, data=body, headers={"content-type": "application/json"}
    )
    SigV4Auth(Credentials("AKIDEXAMPLE", SECRET, token), "bedrock", "us-east-1").add_auth(request)
    return {k.lower(): v for k, v in request.headers.items()}


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("token", [None, "session-token"])
def test_signature_equals_botocores(url: str, token: str | None) -> None:
    body = b'{"max_tokens": 10}'
    theirs = _botocore_signed(url, body, token)
    ours = sign(
        "POST",
        url,
        {"content-type": "application/json"},
        body,
        credentials=AwsCredentials("AKIDEXAMPLE", SECRET, token),
        region="us-east-1",
        service="bedrock",
        amz_date=theirs["x-amz-date"],
    )
    assert ours["authorization"] == theirs["authorization"]


@pytest.mark.parametrize("url", URLS)
def test_checker_accepts_botocore_and_refuses_a_wrong_secret(url: str) -> None:
    body = b"{}"
    headers = _botocore_signed(url, body, None)
    parts = urlsplit(url)
    headers["host"] = parts.netloc
    check = verify_signature(
        "POST", parts.path, headers, body, secrets={"AKIDEXAMPLE": SECRET}, query=parts.query
    )
    assert check.ok, check.message
    wrong = verify_signature(
        "POST", parts.path, headers, body, secrets={"AKIDEXAMPLE": "nope"}, query=parts.query
    )
    assert (wrong.ok, wrong.code) == (False, "InvalidSignatureException")
    assert "nope" not in wrong.message + wrong.canonical + wrong.string_to_sign


def test_a_changed_body_or_header_breaks_the_signature() -> None:
    url = URLS[0]
    headers = _botocore_signed(url, b'{"a":1}', None)
    headers["host"] = urlsplit(url).netloc
    path = urlsplit(url).path
    secrets = {"AKIDEXAMPLE": SECRET}
    assert verify_signature("POST", path, headers, b'{"a":1}', secrets=secrets).ok
    assert not verify_signature("POST", path, headers, b'{"a":2}', secrets=secrets).ok
    assert not verify_signature(
        "POST", path, {**headers, "content-type": "text/plain"}, b'{"a":1}', secrets=secrets
    ).ok


def test_unknown_key_missing_auth_and_clock_skew_have_their_aws_codes() -> None:
    creds = AwsCredentials("AKIDEXAMPLE", SECRET)
    signed = sign(
        "POST", "http://h/x", {}, b"", credentials=creds, region="eu-west-1", service="bedrock"
    )
    assert verify_signature("POST", "/x", signed, b"", secrets={}).code == (
        "UnrecognizedClientException"
    )
    assert verify_signature("POST", "/x", {}, b"", secrets={}).code == (
        "MissingAuthenticationTokenException"
    )
    sent = calendar.timegm(time.strptime(signed["x-amz-date"], "%Y%m%dT%H%M%SZ"))
    late = verify_signature(
        "POST", "/x", signed, b"", secrets={"AKIDEXAMPLE": SECRET}, now=sent + 301
    )
    assert (late.code, late.message.startswith("Signature expired")) == (
        "InvalidSignatureException",
        True,
    )


def test_repr_of_credentials_hides_the_secret_parts() -> None:
    text = repr(AwsCredentials("AKIDEXAMPLE", SECRET, "tok"))
    assert SECRET not in text
    assert "tok" not in text
