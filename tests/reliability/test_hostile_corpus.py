"""A hostile-input corpus against a live ``claude-arch serve`` in production mode (service keys,
Redis, the emulator upstream), over raw sockets so every byte goes out as written.

Each case is one connection. What it must get back:

- ``app`` cases (the request is valid HTTP): exactly one response, never a 5xx the service
  caused (502, 504 and 529 are the upstream's or the gate's), every error in the Anthropic shape
  with its ``request-id`` header equal to the body's ``request_id``; a stream that starts ends
  with ``message_stop``; some cases also pin the status (413 for an oversize body, 400 for bad
  JSON).
- ``protocol`` cases (the HTTP itself is malformed or too large): at most one response, a 400 or
  431 that refuses the request before the app sees it, and the connection closed.
- ``smuggle`` cases (two requests in one, by Content-Length and Transfer-Encoding disagreeing, two
  Content-Lengths, obs-fold): as ``protocol`` cases, or one well-formed app answer; and the
  request hidden inside is never served — its path never reaches the access log.

After every case the process still answers ``/healthz`` and its resident memory stays within
``RSS_GROWTH_KIB`` of what it was after warm-up (``/proc/PID/status``). The canary key, the
upstream key and every answer are grepped at the module's end (``conftest.Leaks``).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass

import httpx
import pytest
from error_shape import check_error_body, sse_events
from live_gateway import LiveGateway
from rawhttp import Answer, build, chunked, exchange

from claude_arch.core.validation.schema import MAX_NESTING
from claude_arch.service.http.hangup import MAX_HEAD_BYTES, MAX_HEADERS

pytestmark = [pytest.mark.redis, pytest.mark.timeout(120)]

MAX_BODY = 1 << 20  # the module's gateway: CLAUDE_ARCH_MAX_BODY_BYTES
RSS_GROWTH_KIB = 150 * 1024
UPSTREAM_STATUSES = {502, 504, 529}
KEY = "@KEY@"
MARK = "@MARK@"
SMUGGLED = f"GET /v1/models/{MARK} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n"
RUN = secrets.token_hex(4)

MESSAGES = "/v1/messages"
COUNT = "/v1/messages/count_tokens"
CHAT = "/v1/chat"
BATCHES = "/v1/messages/batches"


@dataclass(frozen=True)
class Case:
    raw: bytes
    expect: str = "app"  # "app", "protocol", "either", "smuggle" or "pipelined"
    statuses: frozenset[int] = frozenset()
    """The statuses allowed (empty: any well-formed answer)."""


def msg(content: str = '"Hello"', extra: str = "", model: str = '"claude-haiku-4-5"') -> bytes:
    """A Messages body written as text (so it can hold what an encoder would refuse)."""
    return (
        f'{{"model":{model},"max_tokens":16,'
        f'"messages":[{{"role":"user","content":{content}}}]{extra}}}'
    ).encode()


def batch(params: bytes) -> bytes:
    return b'{"requests":[{"custom_id":"c1","params":' + params + b"}]}"


def post(path: str, body: bytes, **options: object) -> bytes:
    headers = [("x-api-key", KEY), ("anthropic-version", "2023-06-01")]
    extra = options.pop("headers", [])
    return build("POST", path, body, headers=headers + extra, **options)  # type: ignore[operator, arg-type]


def get(path: str, raw_headers: bytes = b"") -> bytes:
    return build(
        "GET", path, headers=[("x-api-key", KEY)], raw_headers=raw_headers, content_type=None
    )


def nested_metadata(levels: int) -> str:
    return ',"metadata":' + '{"x":' * levels + '{"user_id":"u"}' + "}" * levels


def nested_schema(levels: int) -> str:
    schema = '{"type":"object","properties":{"n":' * levels + '{"type":"string"}' + "}}" * levels
    return ',"tools":[{"name":"t","input_schema":' + schema + "}]"


BAD = frozenset({400})
BAD_OR_TOO_LARGE = frozenset({400, 413})

# what goes into the body of each POST route, by name: (body for messages-like routes)
BODIES: dict[str, bytes] = {
    "empty": b"",
    "truncated": b'{"model":"claude-haiku-4-5","max_tokens":',
    "not-an-object": b"[1,2,3]",
    "null": b"null",
    "number": b"42",
    "trailing-garbage": msg() + b" trailing",
    "bom": b"\xef\xbb\xbf" + msg(),
    "invalid-utf8": msg().replace(b'"Hello"', b'"\xff\xfe\xc3("'),
    "overlong-utf8": msg().replace(b'"Hello"', b'"\xc0\xafHello"'),
    "raw-surrogate-bytes": msg().replace(b'"Hello"', b'"\xed\xa0\x80"'),
    "lone-surrogate-escape": msg('"\\ud800 alone"'),
    "lone-low-surrogate": msg('"x\\udfff"'),
    "nan": msg(extra=',"temperature":NaN'),
    "infinity": msg(extra=',"temperature":Infinity'),
    "minus-infinity-max-tokens": msg().replace(b'"max_tokens":16', b'"max_tokens":-Infinity'),
    "huge-int": msg().replace(b'"max_tokens":16', b'"max_tokens":' + b"9" * 400),
    "huge-float": msg().replace(b'"max_tokens":16', b'"max_tokens":1e400'),
    "negative": msg().replace(b'"max_tokens":16', b'"max_tokens":-1'),
    "zero": msg().replace(b'"max_tokens":16', b'"max_tokens":0'),
    "fraction": msg().replace(b'"max_tokens":16', b'"max_tokens":1.5'),
    "temperature-huge": msg(extra=',"temperature":1e308'),
    "top-k-negative": msg(extra=',"top_k":-99999999999999999999'),
    "nul-in-content": msg('"a\\u0000b"'),
    "nul-in-system": msg(extra=',"system":"x\\u0000y"'),
    "crlf-in-values": msg('"line\\r\\nx-injected: 1\\r\\n\\r\\nGET / HTTP/1.1"'),
    "duplicate-keys": msg(extra=',"max_tokens":17,"max_tokens":"x"'),
    "unknown-model": msg(model='"claude-nonexistent-9"'),
    "model-not-a-string": msg(model="{}"),
    "huge-string-key": msg(extra=',"' + "k" * 100_000 + '":1'),
    "deep-metadata-1000": msg(extra=nested_metadata(1000)),
    "deep-metadata-just-over": msg(extra=nested_metadata(MAX_NESTING)),
    "deep-schema-500": msg(extra=nested_schema(500)),
    "deep-array-100k": msg(content="[" * 100_000 + "]" * 100_000),
    "deep-unclosed-100k": b'{"messages":' + b"[" * 100_000,
    "many-blocks": msg(content="[" + ",".join(['{"type":"text","text":"x"}'] * 20_000) + "]"),
    "tool-use-garbage": msg(
        content='[{"type":"tool_use","id":"\\u0000","name":"","input":[]}]', extra=""
    ),
    "image-bad-base64": msg(
        content='[{"type":"image","source":{"type":"base64","media_type":"image/png",'
        '"data":"!!!not base64!!!"}}]'
    ),
}

# chat takes {"text": ...}
CHAT_BODIES: dict[str, bytes] = {
    "empty": b"",
    "truncated": b'{"text":',
    "not-an-object": b"[]",
    "invalid-utf8": b'{"text":"\xff\xfe"}',
    "lone-surrogate-escape": b'{"text":"\\ud800"}',
    "nan": b'{"text":"hi","max_tokens":NaN}',
    "huge-int": b'{"text":"hi","max_tokens":' + b"9" * 400 + b"}",
    "negative": b'{"text":"hi","max_tokens":-5}',
    "nul-in-system": b'{"text":"hi","system":"a\\u0000b"}',
    "nul-in-text": b'{"text":"a\\u0000b"}',
    "session-id-garbage": b'{"text":"hi","session_id":"../../etc/passwd\\u0000"}',
    "unknown-field": b'{"text":"hi","extra_headers":{"x-api-key":"steal"}}',
    "deep": b'{"text":"hi","x":' + b"[" * 5000 + b"]" * 5000 + b"}",
}


def corpus() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    # -- bodies, on every route that reads one
    for name, body in BODIES.items():
        cases[f"messages-{name}"] = Case(
            post(MESSAGES, body), statuses=BAD_OR_TOO_LARGE | {200, 404}
        )
        streamed = body.replace(b'"max_tokens":', b'"stream":true,"max_tokens":', 1)
        cases[f"stream-{name}"] = Case(
            post(MESSAGES, streamed), statuses=BAD_OR_TOO_LARGE | {200, 404}
        )
        counted = body.replace(b'"max_tokens":16,', b"", 1)
        cases[f"count-{name}"] = Case(post(COUNT, counted), statuses=BAD_OR_TOO_LARGE | {200, 404})
        cases[f"batch-{name}"] = Case(
            post(BATCHES, batch(body)), statuses=BAD_OR_TOO_LARGE | {200, 404}
        )
    for name, body in CHAT_BODIES.items():
        cases[f"chat-{name}"] = Case(post(CHAT, body), statuses=BAD_OR_TOO_LARGE | {200, 404})
    # bad JSON is a 400 wherever it comes
    for route in ("messages", "stream", "count", "batch"):
        for name in ("empty", "truncated", "invalid-utf8", "nan", "deep-unclosed-100k"):
            cases[f"{route}-{name}"] = Case(cases[f"{route}-{name}"].raw, statuses=BAD)
    # -- sizes, content types, encodings
    big = msg('"' + "x" * MAX_BODY + '"')
    cases["oversize-413"] = Case(post(MESSAGES, big), statuses=frozenset({413}))
    cases["oversize-chunked-413"] = Case(
        post(
            MESSAGES,
            chunked(big, 1 << 16),
            headers=[("transfer-encoding", "chunked")],
            length=False,
        ),
        statuses=frozenset({413}),
    )
    cases["oversize-declared-only"] = Case(
        post(MESSAGES, b"{", length=False, headers=[("content-length", str(10**12))]),
        statuses=frozenset({413}),
    )
    cases["oversize-count-413"] = Case(post(COUNT, big), statuses=frozenset({413}))
    cases["oversize-chat-413"] = Case(
        post(CHAT, b'{"text":"' + b"x" * MAX_BODY + b'"}'), statuses=frozenset({413})
    )
    cases["chunked-valid"] = Case(
        post(MESSAGES, chunked(msg()), headers=[("transfer-encoding", "chunked")], length=False),
        statuses=frozenset({200}),
    )
    cases["chunked-stream"] = Case(
        post(
            MESSAGES,
            chunked(msg(extra=',"stream":true')),
            headers=[("transfer-encoding", "chunked")],
            length=False,
        ),
        statuses=frozenset({200}),
    )
    cases["chunked-extensions"] = Case(
        post(
            MESSAGES,
            b"5;ext=1\r\n" + msg()[:5] + b"\r\n" + chunked(msg()[5:]),
            headers=[("transfer-encoding", "chunked")],
            length=False,
        ),
        statuses=frozenset({200}),
    )
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        "application/xml",
    ):
        cases[f"content-type-{content_type.split(';')[0]}"] = Case(
            post(MESSAGES, msg(), content_type=content_type), statuses=frozenset({200, 400, 415})
        )
    cases["no-content-type"] = Case(
        post(MESSAGES, msg(), content_type=None), statuses=frozenset({200, 400, 415})
    )
    cases["form-body"] = Case(
        post(
            MESSAGES,
            b"model=claude-haiku-4-5&max_tokens=5",
            content_type="application/x-www-form-urlencoded",
        ),
        statuses=BAD | {415},
    )
    cases["gzip-declared"] = Case(
        post(MESSAGES, msg(), headers=[("content-encoding", "gzip")]),
        statuses=frozenset({200, 400, 415}),
    )
    # -- headers
    cases["crlf-bare-lf-in-value"] = Case(
        post(MESSAGES, msg(), headers=[("anthropic-beta", "a\nx-injected: 1")]), expect="either"
    )
    cases["crlf-bare-cr-in-value"] = Case(
        post(MESSAGES, msg(), headers=[("anthropic-beta", "a\rx-injected: 1")]), expect="either"
    )
    cases["nul-in-header"] = Case(
        post(MESSAGES, msg(), headers=[("anthropic-beta", "a\x00b")]), expect="either"
    )
    cases["latin1-beta-header"] = Case(
        post(MESSAGES, msg(), raw_headers=b"anthropic-beta: caf\xe9-\xff\r\n"),
        statuses=frozenset({200, 400}),
    )
    cases["utf8-beta-header"] = Case(
        post(MESSAGES, msg(), raw_headers="anthropic-beta: \u2603\r\n".encode()),
        statuses=frozenset({200, 400}),
    )
    cases["huge-beta-header"] = Case(
        post(MESSAGES, msg(), headers=[("anthropic-beta", ",".join(["x"] * 20_000))]),
        statuses=frozenset({200, 400}),
    )
    cases["latin1-key"] = Case(
        build("POST", MESSAGES, msg(), raw_headers=b"x-api-key: sk-ca-\xff\xfe\r\n"),
        statuses=frozenset({401}),
    )
    cases["bearer-garbage"] = Case(
        build("POST", MESSAGES, msg(), headers=[("authorization", "Bearer " + "\x7f" * 50)]),
        expect="protocol",
    )
    cases["no-key"] = Case(build("POST", MESSAGES, msg()), statuses=frozenset({401}))
    cases["two-keys"] = Case(
        post(MESSAGES, msg(), headers=[("x-api-key", "sk-ca-wrong")]),
        statuses=frozenset({200, 400, 401}),
    )
    cases["anthropic-version-garbage"] = Case(
        post(MESSAGES, msg(), headers=[("anthropic-version", "\x01" * 10)]), expect="protocol"
    )
    cases["huge-header-431"] = Case(
        get("/healthz", b"x-big: " + b"a" * (MAX_HEAD_BYTES + 1) + b"\r\n"), expect="protocol"
    )
    cases["many-headers-431"] = Case(
        get("/healthz", b"".join(b"x-h%d: v\r\n" % i for i in range(MAX_HEADERS + 1))),
        expect="protocol",
    )
    cases["long-path"] = Case(get("/v1/models/" + "a" * 50_000), statuses=frozenset({404}))
    cases["request-line-garbage"] = Case(
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" * 10, expect="protocol"
    )
    cases["http-0.9"] = Case(b"GET /healthz\r\n\r\n", expect="either")
    cases["bare-lf-request"] = Case(
        b"GET /healthz HTTP/1.1\nhost: x\nconnection: close\n\n", expect="either"
    )
    cases["absolute-uri"] = Case(
        b"GET http://evil.example/v1/models HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n"
        b"x-api-key: " + KEY.encode() + b"\r\n\r\n",
        statuses=frozenset({200, 400, 404}),
    )
    cases["unknown-method"] = Case(build("BREW", MESSAGES, msg()), expect="either")
    cases["put-messages"] = Case(
        build("PUT", MESSAGES, msg(), headers=[("x-api-key", KEY)]), statuses=frozenset({405})
    )
    # -- query strings of the list and get routes
    for route in ("/v1/models", BATCHES):
        for query in ("limit=-1", "limit=0", "limit=1001", "limit=" + "9" * 40, "limit=abc",
                      "limit=NaN", "limit=1&limit=2", "after_id=%00", "before_id=x&after_id=y",
                      "after_id=" + "z" * 5000, "limit=%ff%fe"):  # fmt: skip
            cases[f"query-{route}-{query[:20]}"] = Case(
                get(f"{route}?{query}"), statuses=frozenset({200, 400, 404})
            )
    cases["model-id-traversal"] = Case(
        get("/v1/models/..%2f..%2fetc%2fpasswd"), statuses=frozenset({404})
    )
    cases["model-id-nul"] = Case(get("/v1/models/claude%00haiku"), statuses=frozenset({404}))
    cases["batch-id-garbage"] = Case(
        get(f"{BATCHES}/%ff%00..%2f"), statuses=frozenset({307, 400, 404})
    )
    cases["batch-results-garbage"] = Case(
        get(f"{BATCHES}/msgbatch_x/results"), statuses=frozenset({404})
    )
    # -- smuggling shapes
    te_cl = SMUGGLED.encode()
    cases["smuggle-cl-te"] = Case(
        b"POST /v1/messages/count_tokens HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        b"content-type: application/json\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n"
        b"x-api-key: " + KEY.encode() + b"\r\n\r\n0\r\n\r\n" + te_cl,
        expect="smuggle",
    )
    cases["smuggle-te-cl"] = Case(
        b"POST /v1/messages/count_tokens HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        b"transfer-encoding: chunked\r\ncontent-length: 4\r\n"
        b"x-api-key: " + KEY.encode() + b"\r\n\r\n%x\r\n" % len(te_cl) + te_cl + b"\r\n0\r\n\r\n",
        expect="smuggle",
    )
    cases["smuggle-two-content-lengths"] = Case(
        b"POST /v1/messages/count_tokens HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        b"content-length: 0\r\ncontent-length: %d\r\n"
        b"x-api-key: " % len(te_cl) + KEY.encode() + b"\r\n\r\n" + te_cl,
        expect="smuggle",
    )
    cases["smuggle-same-content-lengths"] = Case(
        b"POST /v1/messages/count_tokens HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        b"content-length: 2\r\ncontent-length: 2\r\n"
        b"x-api-key: " + KEY.encode() + b"\r\n\r\n{}" + te_cl,
        expect="smuggle",
    )
    for te in (b"xchunked", b"chunked, identity", b"identity", b" chunked", b"chunked\x0b"):
        cases[f"smuggle-te-{te.decode().strip()}"] = Case(
            b"POST /v1/messages/count_tokens HTTP/1.1\r\nhost: 127.0.0.1\r\n"
            b"transfer-encoding: " + te + b"\r\n"
            b"x-api-key: " + KEY.encode() + b"\r\n\r\n0\r\n\r\n" + te_cl,
            expect="smuggle",
        )
    cases["smuggle-te-space-before-colon"] = Case(
        b"POST /v1/messages/count_tokens HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 5\r\n"
        b"transfer-encoding : chunked\r\nx-api-key: " + KEY.encode() + b"\r\n\r\n0\r\n\r\n" + te_cl,
        expect="smuggle",
    )
    cases["smuggle-obs-fold-te"] = Case(
        b"POST /v1/messages/count_tokens HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 5\r\n"
        b"x-fold: a\r\n transfer-encoding: chunked\r\nx-api-key: "
        + KEY.encode()
        + b"\r\n\r\n0\r\n\r\n"
        + te_cl,
        expect="smuggle",
    )
    cases["smuggle-obs-fold-key"] = Case(
        b"GET /v1/models HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n"
        b"x-api-key: " + KEY.encode() + b"\r\n\tcontinued\r\n\r\n",
        expect="smuggle",
    )
    for length in (b"-1", b"+5", b"0x10", b"5 5", b"99999999999999999999999"):
        cases[f"smuggle-content-length-{length.decode()}"] = Case(
            b"POST /v1/messages/count_tokens HTTP/1.1\r\nhost: 127.0.0.1\r\n"
            b"content-length: " + length + b"\r\nx-api-key: " + KEY.encode() + b"\r\n\r\n" + te_cl,
            expect="smuggle",
        )
    cases["smuggle-pipelined-after-body"] = Case(
        b"POST /v1/messages/count_tokens HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 2\r\n"
        b"x-api-key: " + KEY.encode() + b"\r\n\r\n{}" + te_cl,
        expect="pipelined",
    )
    return cases


CORPUS = corpus()


@pytest.fixture(scope="module")
def baseline_rss(gateway: LiveGateway) -> int:
    """RSS after a few ordinary requests (the first ones import and allocate what every later
    request reuses)."""
    headers = {"x-api-key": gateway.key, "anthropic-version": "2023-06-01"}
    with httpx.Client(base_url=gateway.url, headers=headers, timeout=30) as http:
        for stream in (False, True, False):
            r = http.post(MESSAGES, content=msg(extra=',"stream":true' if stream else ""))
            gateway.leaks.seen(r)
            assert r.status_code == 200, r.text
    return gateway.rss_kib()


def check_app_answer(answers: list[Answer], rest: bytes, case: Case) -> None:
    assert len(answers) == 1, (answers, rest[:500])
    assert not rest, rest[:500]
    answer = answers[0]
    status = answer.status
    assert status < 500 or status in UPSTREAM_STATUSES, (status, answer.body[:2000])
    if case.statuses:
        assert status in case.statuses, (status, answer.body[:2000])
    content_type = answer.headers.get("content-type", "")
    if status >= 400:
        assert content_type.startswith("application/json"), answer.headers
        body = json.loads(answer.body)
        check_error_body(body, status)
        assert answer.headers["request-id"] == body["request_id"]
        assert "request-id" not in answer.repeated
    elif 300 <= status < 400:  # Starlette's redirect of a trailing slash
        assert answer.headers["location"].startswith("http://127.0.0.1/"), answer.headers
    elif content_type.startswith("text/event-stream"):
        names = [name for name, _ in sse_events(answer.body.decode())]
        if "delta" in names or "done" in names:  # /v1/chat
            assert names[-1] == "done", names
        else:
            assert names[0] == "message_start", names
            assert names[-1] == "message_stop", names
    else:
        assert content_type.startswith("application/json"), answer.headers
        json.loads(answer.body)


def check_refused(answers: list[Answer], rest: bytes) -> None:
    """At most one answer: a refusal of malformed HTTP, before the app (uvicorn's 400, our 431)."""
    assert len(answers) <= 1, (answers, rest[:500])
    assert not rest, rest[:500]
    if answers:
        assert answers[0].status in (400, 431), answers[0]
        if answers[0].status == 431:
            body = json.loads(answers[0].body)
            assert body["type"] == "error", body
            assert body["error"]["type"] == "invalid_request_error", body


async def healthy(gateway: LiveGateway, baseline: int) -> None:
    assert gateway.proc.returncode() is None, gateway.proc.logs()
    async with httpx.AsyncClient(timeout=10) as http:
        assert (await http.get(gateway.url + "/healthz")).status_code == 200
    rss = gateway.rss_kib()
    assert rss < baseline + RSS_GROWTH_KIB, (rss, baseline)


@pytest.mark.parametrize("name", sorted(CORPUS))
async def test_hostile_input_gets_a_well_formed_answer(
    gateway: LiveGateway, baseline_rss: int, name: str
) -> None:
    case = CORPUS[name]
    marker = secrets.token_hex(3)  # as long as MARK: declared lengths stay right
    raw = case.raw.replace(KEY.encode(), gateway.key.encode()).replace(
        MARK.encode(), marker.encode()
    )
    answers, rest = await exchange(gateway.url, raw)
    for answer in answers:
        gateway.leaks.seen(answer.body, json.dumps(answer.headers))
    gateway.leaks.seen(rest)
    if case.expect == "app":
        check_app_answer(answers, rest, case)
    elif case.expect == "protocol":
        check_refused(answers, rest)
    elif case.expect == "pipelined":
        # the control of the smuggling cases: a well-formed second request on a kept-alive
        # connection is served, and its marker reaches the access log
        assert [a.status for a in answers] == [400, 401], answers
        for answer in answers:
            check_app_answer([answer], b"", Case(b""))
        await logged(gateway, f"/v1/models/{marker}")
    elif len(answers) == 1 and answers[0].status not in (400, 431):
        check_app_answer(answers, rest, case)  # either / smuggle: one well-formed answer
    else:
        check_refused(answers, rest)  # or a refusal
    if case.expect == "smuggle":  # and the hidden request never served
        await healthy(gateway, baseline_rss)  # a request served after ours would be logged by now
        assert marker not in gateway.proc.log_path.read_text(errors="replace"), marker
    await healthy(gateway, baseline_rss)


async def logged(gateway: LiveGateway, text: str, timeout_s: float = 5.0) -> None:
    """Wait (bounded) until ``text`` is in the serve process's log."""
    async with asyncio.timeout(timeout_s):
        while text not in gateway.proc.log_path.read_text(errors="replace"):  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def test_unfinished_huge_heads_do_not_hold_memory(
    gateway: LiveGateway, baseline_rss: int
) -> None:
    """Five connections each sending 8 MB of a head that never ends: each is refused (431) once
    past the bound, and memory does not grow by what they sent (issue #11 finding 5)."""

    async def flood() -> list[Answer]:
        host, port = gateway.url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: ")
        try:
            for _ in range(128):
                writer.write(b"a" * 65_536)
                await writer.drain()
        except ConnectionError:
            pass  # refused and closed while still sending: what should happen
        async with asyncio.timeout(15):
            data = await reader.read()
        writer.close()
        from rawhttp import parse

        return parse(data)[0]

    results = await asyncio.gather(*(flood() for _ in range(5)), return_exceptions=True)
    for result in results:  # a reset before the 431 was read is a refusal too
        if isinstance(result, BaseException):
            assert isinstance(result, ConnectionError), result
        else:
            assert [a.status for a in result] in ([431], []), result
    await healthy(gateway, baseline_rss)


async def test_a_websocket_key_in_the_query_string_is_not_logged(gateway: LiveGateway) -> None:
    """A browser's WebSocket passes its key as ``?key=`` (issue #11 finding 1): the upgrade is
    accepted, and the key is in no log line (the module's canary check reads the whole log;
    here, the line that names the socket is waited for first, so it is there to be read)."""
    host, port = gateway.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"GET /v1/chat/ws?key={gateway.key}&x=1 HTTP/1.1\r\nhost: {host}\r\n"
        "upgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-version: 13\r\n"
        "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n".encode()
    )
    async with asyncio.timeout(10):
        head = await reader.readuntil(b"\r\n\r\n")
    writer.close()
    gateway.leaks.seen(head)
    assert head.startswith(b"HTTP/1.1 101"), head
    await logged(gateway, "/v1/chat/ws?key=[redacted]")
    assert gateway.key not in gateway.proc.log_path.read_text(errors="replace")
