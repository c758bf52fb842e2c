"""AWS credentials for signing Bedrock requests: static, or the standard credential chain.

The chain's first link, the environment (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_SESSION_TOKEN``: how Lambda hands a function its role), is read here without botocore, so
a Lambda cold start pays nothing for it. Any other link (a profile, SSO, the ECS or EC2 role)
is botocore's: imported on first use only, its blocking look-ups run in a thread, and its
answer is asked again every minute so a refreshed role key is picked up before the old one
expires (botocore refreshes 15 minutes ahead).

    source = AwsCredentialChain(profile="prod")          # or StaticAwsCredentials(creds)
    creds = await source.get()                           # AwsCredentials
    region = aws_region(None)                            # AWS_REGION, AWS_DEFAULT_REGION
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Mapping
from typing import Any, Protocol

from claude_arch.core.platforms.sigv4 import AwsCredentials
from claude_arch.errors import ConfigError

__all__ = [
    "AwsCredentialChain",
    "AwsCredentialSource",
    "StaticAwsCredentials",
    "aws_region",
    "credentials_from_env",
]

ENV_ACCESS_KEY = "AWS_ACCESS_KEY_ID"
ENV_SECRET_KEY = "AWS_SECRET_ACCESS_KEY"  # noqa: S105 - a variable's name, not a secret
ENV_SESSION_TOKEN = "AWS_SESSION_TOKEN"  # noqa: S105 - a variable's name, not a secret
ENV_REGIONS = ("AWS_REGION", "AWS_DEFAULT_REGION")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}$")
_RECHECK_S = 60.0
_MISSING = (
    "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and "
    "AWS_SESSION_TOKEN for temporary keys), or AWS_PROFILE, or run where an IAM role is "
    "attached (Lambda, ECS, EC2)"
)


class AwsCredentialSource(Protocol):
    async def get(self) -> AwsCredentials:
        """Credentials valid for the next request; ConfigError when there are none."""
        ...


def aws_region(region: str | None, env: Mapping[str, str] | None = None) -> str:
    """``region``, else ``AWS_REGION`` or ``AWS_DEFAULT_REGION``; a ConfigError names what to set.

    >>> aws_region("eu-west-3")
    'eu-west-3'
    >>> aws_region("us-east1", {})
    Traceback (most recent call last):
    ...
    claude_arch.errors.ConfigError: AWS region 'us-east1' is not a region name (like us-east-1)
    """
    env = os.environ if env is None else env
    chosen = region or next((env[name] for name in ENV_REGIONS if env.get(name)), None)
    if not chosen:
        raise ConfigError("no AWS region: set AWS_REGION (or the platform's region setting)")
    if not _REGION.match(chosen):
        raise ConfigError(f"AWS region {chosen[:40]!r} is not a region name (like us-east-1)")
    return chosen


def credentials_from_env(env: Mapping[str, str] | None = None) -> AwsCredentials | None:
    """The key pair in the environment, or None when it holds none."""
    env = os.environ if env is None else env
    access, secret = env.get(ENV_ACCESS_KEY), env.get(ENV_SECRET_KEY)
    if not access or not secret:
        return None
    return AwsCredentials(access, secret, env.get(ENV_SESSION_TOKEN) or None)


class StaticAwsCredentials:
    """Always the same credentials (tests, the emulator, a key pair from a secret store)."""

    def __init__(self, credentials: AwsCredentials) -> None:
        self._credentials = credentials

    async def get(self) -> AwsCredentials:
        return self._credentials


class AwsCredentialChain:
    """The standard chain: the environment first, then botocore's (profile ``profile``)."""

    def __init__(self, *, profile: str | None = None, env: Mapping[str, str] | None = None) -> None:
        self._profile = profile
        self._env = env
        self._botocore: Any = None  # botocore's Credentials object, once resolved
        self._frozen: AwsCredentials | None = None
        self._checked_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> AwsCredentials:
        if self._profile is None:
            found = credentials_from_env(self._env)
            if found is not None:
                return found
        frozen = self._frozen
        if frozen is not None and time.monotonic() - self._checked_at < _RECHECK_S:
            return frozen
        async with self._lock:
            if self._frozen is None or time.monotonic() - self._checked_at >= _RECHECK_S:
                self._frozen = await asyncio.to_thread(self._resolve)
                self._checked_at = time.monotonic()
            return self._frozen

    def _resolve(self) -> AwsCredentials:
        if self._botocore is None:
            try:
                import botocore.session  # type: ignore[import-untyped]
            except ImportError:
                raise ConfigError(
                    f"{_MISSING}; reading a profile or a role needs botocore: "
                    "pip install 'claude-arch[platforms]'"
                ) from None
            session = botocore.session.Session(profile=self._profile)
            try:
                self._botocore = session.get_credentials()
            except Exception as exc:  # a broken profile: botocore's own exception types
                # Their messages name profiles and variables, never a key.
                reason = f"{type(exc).__name__}: {exc}"[:300]
                raise ConfigError(f"AWS credentials could not be read: {reason}") from None
            if self._botocore is None:
                raise ConfigError(_MISSING)
        frozen = self._botocore.get_frozen_credentials()
        return AwsCredentials(frozen.access_key, frozen.secret_key, frozen.token or None)
