"""AWS Signature Version 4 for one request: sign it (the client) or check it (the emulator).

Standard library only, so a Lambda with its role in the environment signs without botocore.
The canonical request follows botocore's ``SigV4Auth`` for non-S3 services: the path exactly as
sent, URI-encoded once more (``:`` → ``%3A``, ``%3A`` → ``%253A``) after removing dot segments
and empty segments; query pairs sorted as sent; the signed headers lower-cased, their values
trimmed with inner whitespace collapsed; the payload's SHA-256 (or the
``x-amz-content-sha256`` header when present).

    >>> creds = AwsCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    >>> signed = sign("POST", "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/invoke",
    ...               {"content-type": "application/json"}, b"{}", credentials=creds,
    ...               region="us-east-1", service="bedrock", amz_date="20250101T000000Z")
    >>> signed["authorization"].split(", ")[1]
    'SignedHeaders=content-type;host;x-amz-date'
    >>> check = verify_signature("POST", "/model/m/invoke", {**signed, "content-type":
    ...     "application/json"}, b"{}", secrets={"AKIDEXAMPLE": creds.secret_key},
    ...     now=1735689600.0)  # the moment of amz_date
    >>> check.ok, check.region
    (True, 'us-east-1')
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

__all__ = [
    "ALGORITHM",
    "AwsCredentials",
    "SignatureCheck",
    "amz_date_now",
    "canonical_request",
    "sign",
    "verify_signature",
]

ALGORITHM = "AWS4-HMAC-SHA256"
_UNSIGNED_HEADERS = frozenset({"authorization", "expect", "user-agent", "x-amzn-trace-id"})
_AUTH = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<akid>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/"
    r"(?P<service>[^/,\s]+)/aws4_request,\s*SignedHeaders=(?P<signed>[a-z0-9;._-]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})\s*$"
)


@dataclass(frozen=True, slots=True)
class AwsCredentials:
    """An access key pair (and session token): the secret parts never show in a repr."""

    access_key: str
    secret_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


def amz_date_now() -> str:
    """The current UTC time as SigV4 writes it (``20250101T000000Z``)."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def _canonical_path(raw_path: str) -> str:
    # Dot segments and empty segments go (as botocore does); a trailing slash stays.
    kept: list[str] = []
    for segment in raw_path.split("/"):
        if segment == "..":
            if kept:
                kept.pop()
        elif segment and segment != ".":
            kept.append(segment)
    path = "/" + "/".join(kept)
    if raw_path.endswith("/") and kept:
        path += "/"
    return quote(path, safe="/~")


def _canonical_query(query: str) -> str:
    if not query:
        return ""
    pairs = sorted(tuple(pair.partition("=")[::2]) for pair in query.split("&"))
    return "&".join(f"{key}={value}" for key, value in pairs)


def _header_value(value: str) -> str:
    return " ".join(value.split())


def canonical_request(
    method: str,
    raw_path: str,
    query: str,
    headers: Mapping[str, str],
    *,
    signed: list[str],
    payload_hash: str,
) -> str:
    """The canonical request over ``signed`` (lower-case names, sorted) of ``headers``."""
    lines = "".join(f"{name}:{_header_value(headers.get(name, ''))}\n" for name in signed)
    return "\n".join(
        [
            method.upper(),
            _canonical_path(raw_path),
            _canonical_query(query),
            lines,
            ";".join(signed),
            payload_hash,
        ]
    )


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _string_to_sign(amz_date: str, scope: str, request: str) -> str:
    digest = hashlib.sha256(request.encode()).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def _host(netloc: str, scheme: str) -> str:
    host = netloc.rpartition("@")[2]
    default = {"http": ":80", "https": ":443"}.get(scheme)
    if default and host.endswith(default):
        return host.removesuffix(default)
    return host


def sign(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    *,
    credentials: AwsCredentials,
    region: str,
    service: str,
    amz_date: str | None = None,
) -> dict[str, str]:
    """``headers`` plus ``host``, ``x-amz-date``, the session token and ``authorization``.

    Every header given is signed except those proxies rewrite (``user-agent`` …), so send the
    returned mapping as it is.
    """
    parts = urlsplit(url)
    amz_date = amz_date or amz_date_now()
    out = {name.lower(): value for name, value in headers.items()}
    out.pop("authorization", None)
    out["host"] = _host(parts.netloc, parts.scheme)
    out["x-amz-date"] = amz_date
    if credentials.session_token:
        out["x-amz-security-token"] = credentials.session_token
    payload_hash = out.get("x-amz-content-sha256") or hashlib.sha256(body or b"").hexdigest()
    signed = sorted(name for name in out if name not in _UNSIGNED_HEADERS)
    request = canonical_request(
        method, parts.path or "/", parts.query, out, signed=signed, payload_hash=payload_hash
    )
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    key = _signing_key(credentials.secret_key, amz_date[:8], region, service)
    signature = hmac.new(
        key, _string_to_sign(amz_date, scope, request).encode(), hashlib.sha256
    ).hexdigest()
    out["authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={';'.join(signed)}, Signature={signature}"
    )
    return out


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """What checking one request's signature found. ``code`` is the AWS error code when not
    ``ok``; ``canonical`` and ``string_to_sign`` are what the server computed (AWS shows them in
    a mismatch's message)."""

    ok: bool
    code: str = ""
    message: str = ""
    access_key: str = ""
    region: str = ""
    service: str = ""
    canonical: str = ""
    string_to_sign: str = ""


def verify_signature(
    method: str,
    raw_path: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    secrets: Mapping[str, str],
    query: str = "",
    now: float | None = None,
    max_skew_s: float = 300.0,
) -> SignatureCheck:
    """Check the ``authorization`` header of a received request against ``secrets`` (access
    key → secret key). ``headers`` must answer lower-case names."""
    auth = headers.get("authorization")
    if not auth:
        return SignatureCheck(
            False, "MissingAuthenticationTokenException", "Missing Authentication Token"
        )
    match = _AUTH.match(auth)
    amz_date = headers.get("x-amz-date", "")
    if match is None or not re.fullmatch(r"\d{8}T\d{6}Z", amz_date):
        return SignatureCheck(
            False,
            "IncompleteSignatureException",
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
            "parameters and an X-Amz-Date header.",
        )
    akid, region, service = match["akid"], match["region"], match["service"]
    secret = secrets.get(akid)
    if secret is None:
        return SignatureCheck(
            False,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            akid,
            region,
            service,
        )
    signed = match["signed"].split(";")
    if "host" not in signed or signed != sorted(signed) or match["date"] != amz_date[:8]:
        return SignatureCheck(
            False,
            "IncompleteSignatureException",
            "The signed headers must include host, sorted, and the credential date must be "
            "the X-Amz-Date day.",
            akid,
            region,
            service,
        )
    sent = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
    current = time.time() if now is None else now
    if abs(current - sent) > max_skew_s:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(current))
        return SignatureCheck(
            False,
            "InvalidSignatureException",
            f"Signature expired: {amz_date} is now earlier than {stamp} (5 min. skew allowed).",
            akid,
            region,
            service,
        )
    # A claimed payload hash other than the body's makes the signature differ: the client signed it.
    payload_hash = hashlib.sha256(body).hexdigest()
    if headers.get("x-amz-content-sha256") == "UNSIGNED-PAYLOAD":
        payload_hash = "UNSIGNED-PAYLOAD"
    request = canonical_request(
        method, raw_path, query, headers, signed=signed, payload_hash=payload_hash
    )
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = _string_to_sign(amz_date, scope, request)
    expected = hmac.new(
        _signing_key(secret, amz_date[:8], region, service), to_sign.encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, match["signature"]):
        return SignatureCheck(
            False,
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details.",
            akid,
            region,
            service,
            request,
            to_sign,
        )
    return SignatureCheck(True, access_key=akid, region=region, service=service)
