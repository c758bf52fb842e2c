"""No credential reaches a log line, whoever writes it: a WebSocket that passes its service key as
``?key=`` (as browsers must) is logged by uvicorn with its URL, and that line must not hold the
secret; :func:`redact` hides key secrets and credential query parameters in any text."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from log_capture import json_logs
from websockets.asyncio.client import connect

from claude_arch.constants import SERVICE_KEY_SECRET_PREFIX
from claude_arch.service.operations.logs import REDACTED, redact
from claude_arch.service.testing import ServiceServer
from claude_arch.testing import EmulatorServer

SECRET_CHARS = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", min_size=4
)
AROUND = st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="sk-=?&;"))


async def test_a_websocket_key_in_the_query_string_is_not_logged(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    async with ServiceServer.for_emulator(emulator, tmp_path) as svc:
        secret = await svc.create_key("browser")
        url = svc.url.replace("http://", "ws://") + f"/v1/chat/ws?key={secret}"
        with json_logs("DEBUG") as logs:
            async with connect(url) as ws:
                await ws.send(json.dumps({"type": "user", "text": "hi"}))
                while json.loads(await ws.recv())["type"] not in ("done", "error"):
                    pass
            logging.getLogger("uvicorn.error").info("an error page for %s", url)
    text = logs.text()
    assert secret not in text
    assert secret[len(SERVICE_KEY_SECRET_PREFIX) :] not in text
    with_query = [line for line in logs.lines() if "key=" in line["msg"]]
    # uvicorn's socket line and ours (and the websockets client's debug lines, in this process)
    assert sum(line["logger"] == "uvicorn.error" for line in with_query) >= 2
    assert all(f"key={REDACTED}" in line["msg"] for line in with_query)


@given(
    before=AROUND,
    after=AROUND,
    body=SECRET_CHARS,
    prefix=st.sampled_from(["sk-ca-", "sk-ant-", "sk-ant-api03-"]),
    param=st.sampled_from(["?key=", "&token=", "?api_key=", "&access_token=", "?x-api-key="]),
)
def test_secrets_and_credential_parameters_are_hidden(
    before: str, after: str, body: str, prefix: str, param: str
) -> None:
    kept = "sk-ca-" if prefix == "sk-ca-" else "sk-ant-"  # the kind of key stays readable
    assert redact(f"{before} {prefix}{body} {after}") == f"{before} {kept}{REDACTED} {after}"
    assert redact(f"{before}/path{param}{body}&other=1 {after}") == (
        f"{before}/path{param}{REDACTED}&other=1 {after}"
    )
