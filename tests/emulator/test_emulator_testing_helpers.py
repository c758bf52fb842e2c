"""claude_arch.testing as users meet it: embedded start, the real 32 MB limit, config overrides."""

from __future__ import annotations

import httpx
from api_shapes import assert_error_shape, body, headers

from claude_arch.constants import MAX_REQUEST_BYTES
from claude_arch.emulator import EmulatorConfig, create_app
from claude_arch.testing import EmulatorServer, start_embedded


def test_start_embedded_serves_until_closed() -> None:
    server = start_embedded(EmulatorConfig(port=0, speed=0))
    try:
        assert server.config.speed == 0
        r = httpx.post(server.url + "/v1/messages", json=body(), headers=headers())
        assert r.status_code == 200
    finally:
        server.close()
    try:
        httpx.post(server.url + "/v1/messages", json=body(), headers=headers(), timeout=2)
    except httpx.TransportError:
        pass
    else:
        raise AssertionError("the emulator still answers after close()")


def test_default_limit_is_32_mb_and_refused_before_the_body_is_read(emu: EmulatorServer) -> None:
    assert emu.config.max_request_bytes == MAX_REQUEST_BYTES
    oversized = b'{"pad": "' + b"x" * MAX_REQUEST_BYTES + b'"}'
    r = httpx.post(emu.url + "/v1/messages", content=oversized, headers=headers(), timeout=30)
    assert "maximum allowed size" in assert_error_shape(r, 413, "request_too_large")


def test_overrides_apply_on_top_of_a_config() -> None:
    base = EmulatorConfig(port=0, speed=5, rate_limit_tier="tier1")
    with EmulatorServer(base, api_keys=["sk-only"]) as emu:
        assert emu.api_key == "sk-only"
        assert emu.config.speed == 5
        assert emu.config.rate_limit_tier == "tier1"
    assert create_app(base).router is not None
