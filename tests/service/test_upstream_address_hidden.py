"""An upstream that cannot be reached is described to callers by what failed, never by where: a
base URL's host, port and path (which can hold an account token) stay in the gateway's log. A
base URL carrying credentials is refused when the settings load, without echoing them."""

from __future__ import annotations

import socket
from pathlib import Path

import anthropic
import pytest
from log_capture import json_logs
from pydantic import ValidationError

from claude_arch.service.config import ServiceSettings
from claude_arch.service.testing import ServiceServer

TOKEN_PATH = "/acct-7f3a9c-token"
HELLO = [{"role": "user", "content": "Hello"}]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there once the socket is closed


def test_a_refused_upstream_is_a_502_that_names_no_address(tmp_path: Path) -> None:
    port = closed_port()
    upstream = f"http://127.0.0.1:{port}{TOKEN_PATH}"
    settings = ServiceSettings(  # type: ignore[call-arg]
        _env_file=None, base_url=upstream, api_key="sk-ant-upstream-canary", data_dir=tmp_path,
        port=0, rate_limit_tier="none", max_retries=0,
    )  # fmt: skip
    with json_logs() as logs, ServiceServer(settings) as svc:
        client = anthropic.Anthropic(
            base_url=svc.url, api_key=svc.create_key_sync("caller"), max_retries=0
        )
        failures = []
        params = {"model": "claude-haiku-4-5", "max_tokens": 8, "messages": HELLO}
        with pytest.raises(anthropic.APIStatusError) as created:
            client.messages.create(**params)  # type: ignore[call-overload]
        failures.append(created.value)
        with pytest.raises(anthropic.APIStatusError) as streamed:
            client.messages.create(**params, stream=True)  # type: ignore[call-overload]
        failures.append(streamed.value)
        with pytest.raises(anthropic.APIStatusError) as counted:
            client.messages.count_tokens(model="claude-haiku-4-5", messages=HELLO)  # type: ignore[arg-type]
        failures.append(counted.value)
    for failure in failures:
        assert failure.status_code == 502
        message = failure.body["error"]["message"]  # type: ignore[index]
        assert message.startswith("connection to the API failed: ")
        for secret in ("127.0.0.1", str(port), TOKEN_PATH, "acct-"):
            assert secret not in message, (secret, message)
    # the operator still learns where: the log has the address
    details = [line for line in logs.lines() if line["msg"].startswith("no answer from upstream")]
    assert details
    assert all(upstream in line["msg"] for line in details)
    assert "sk-ant-upstream-canary" not in logs.text()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://user:hunter2@127.0.0.1:4010", "must not carry credentials"),
        ("ftp://127.0.0.1:4010", "http:// or https://"),
        ("http://127.0.0.1:4010/?key=hunter2", "no query string"),
    ],
)
def test_a_base_url_with_credentials_or_no_http_is_refused_at_start(url: str, says: str) -> None:
    with pytest.raises(ValidationError) as refused:
        ServiceSettings(_env_file=None, base_url=url)  # type: ignore[call-arg]
    text = str(refused.value)
    assert says in text
    assert "base_url" in text
    assert "hunter2" not in text
