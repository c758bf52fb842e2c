"""The key's secret reference, its cache (TTL, stale value kept through an outage, invalidation)
and Google Secret Manager's REST read through the metadata server's token."""

from __future__ import annotations

import pytest
from gcp_fakes import fake_google

from claude_arch.errors import ConfigError
from claude_arch.serverless.secrets import (
    CachedSecret,
    SecretRef,
    SecretUnavailableError,
    api_key_secret_from_env,
    read_secret,
)


class Store:
    def __init__(self, *values: str | Exception) -> None:
        self.values = list(values)
        self.asked = 0

    def __call__(self, ref: SecretRef) -> str:
        value = self.values[min(self.asked, len(self.values) - 1)]
        self.asked += 1
        if isinstance(value, Exception):
            raise value
        return value


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


REF = SecretRef("aws-secretsmanager", "k")


def test_the_value_is_cached_for_the_ttl() -> None:
    store, clock = Store("one", "two"), Clock()
    secret = CachedSecret(REF, ttl_s=60, read=store, clock=clock)
    assert [secret.get(), secret.get()] == ["one", "one"]
    clock.now = 61
    assert secret.get() == "two"
    assert (store.asked, secret.reads) == (2, 2)


def test_invalidate_reads_again_at_once() -> None:
    store = Store("one", "two")
    secret = CachedSecret(REF, ttl_s=600, read=store, clock=Clock())
    assert secret.get() == "one"
    secret.invalidate()
    assert secret.get() == "two"


def test_an_outage_keeps_the_cached_value_and_asks_again_later() -> None:
    store, clock = Store("one", OSError("down"), "two"), Clock()
    secret = CachedSecret(REF, ttl_s=60, read=store, clock=clock)
    assert secret.get() == "one"
    clock.now = 61
    assert secret.get() == "one"  # the store failed: the old value stays in use ...
    clock.now = 65
    assert secret.get() == "one"  # ... without asking again at once ...
    assert store.asked == 2
    clock.now = 72
    assert secret.get() == "two"  # ... and 10 s later it is asked again


def test_no_value_at_all_is_a_503_naming_no_secret() -> None:
    secret = CachedSecret(SecretRef("aws-ssm", "/prod/key"), read=Store(OSError("down")))
    with pytest.raises(SecretUnavailableError) as caught:
        secret.get()
    assert caught.value.status == 503
    assert "/prod/key" not in str(caught.value)


@pytest.mark.parametrize(
    "value",
    ["", "vault:x", "aws-secretsmanager:", "gcp-secretmanager:my-secret", "aws-ssm"],
)
def test_bad_references_name_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="CLAUDE_ARCH_API_KEY_SECRET"):
        SecretRef.parse(value)


def test_from_env() -> None:
    assert api_key_secret_from_env({}) is None
    secret = api_key_secret_from_env(
        {"CLAUDE_ARCH_API_KEY_SECRET": "aws-ssm:/k#key", "CLAUDE_ARCH_SECRET_TTL_S": "30"}
    )
    assert secret is not None
    assert (secret.ref, secret.ttl_s) == (SecretRef("aws-ssm", "/k", "key"), 30.0)
    with pytest.raises(ConfigError, match="CLAUDE_ARCH_SECRET_TTL_S"):
        api_key_secret_from_env(
            {"CLAUDE_ARCH_API_KEY_SECRET": "aws-ssm:/k", "CLAUDE_ARCH_SECRET_TTL_S": "-1"}
        )


def test_google_secret_manager_through_the_metadata_token() -> None:
    with fake_google() as google:
        google.secrets["projects/p/secrets/anthropic"] = "sk-ant-from-gcp\n"
        env = {
            "GCE_METADATA_HOST": google.host,
            "CLAUDE_ARCH_GCP_SECRETMANAGER_URL": google.url,
        }
        ref = SecretRef.parse("gcp-secretmanager:projects/p/secrets/anthropic")
        assert read_secret(ref, env) == "sk-ant-from-gcp"
        assert google.accesses == ["projects/p/secrets/anthropic/versions/latest"]
        missing = SecretRef.parse("gcp-secretmanager:projects/p/secrets/other")
        with pytest.raises(Exception, match="404"):
            read_secret(missing, env)
