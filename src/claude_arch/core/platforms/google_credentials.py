"""Bearer tokens for Vertex AI: a static token, or Application Default Credentials, refreshed.

ADC is google-auth's: imported on first use only (``pip install 'claude-arch[platforms]'``);
it finds a service-account key file (``GOOGLE_APPLICATION_CREDENTIALS``), the gcloud user's
credentials, or the metadata server of Cloud Run, Cloud Functions and GKE. Its blocking token
requests run in a thread; a token is reused until five minutes before it expires.

    source = AdcTokenSource()                    # or StaticToken("ya29....")
    token = await source.token()
    project = await source.project()             # ADC's project, when it names one
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, Protocol

from claude_arch.errors import ConfigError

__all__ = ["AdcTokenSource", "GoogleTokenSource", "StaticToken"]

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
_EARLY = dt.timedelta(minutes=5)


class GoogleTokenSource(Protocol):
    async def token(self) -> str:
        """A bearer token valid for the next request; ConfigError when there is none."""
        ...

    async def project(self) -> str | None:
        """The project the credentials belong to, when they say."""
        ...


class StaticToken:
    """Always the same token (tests, the emulator, a token minted elsewhere)."""

    def __init__(self, token: str, project: str | None = None) -> None:
        if not token:
            raise ConfigError("the Vertex access token is empty")
        self._token = token
        self._project = project

    def __repr__(self) -> str:
        return "StaticToken(***)"

    async def token(self) -> str:
        return self._token

    async def project(self) -> str | None:
        return self._project


class AdcTokenSource:
    """Application Default Credentials with the cloud-platform scope."""

    def __init__(self) -> None:
        self._credentials: Any = None
        self._project: str | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return "AdcTokenSource()"

    async def token(self) -> str:
        credentials = self._credentials
        if credentials is not None and not _stale(credentials):
            return str(credentials.token)
        async with self._lock:
            if self._credentials is None or _stale(self._credentials):
                await asyncio.to_thread(self._refresh)
            return str(self._credentials.token)

    async def project(self) -> str | None:
        if self._credentials is None:
            await self.token()
        return self._project

    def _refresh(self) -> None:
        try:
            import google.auth
            import google.auth.exceptions
            from google.auth.transport.requests import Request
        except ImportError:
            raise ConfigError(
                "Vertex AI without an access token needs google-auth for Application Default "
                "Credentials: pip install 'claude-arch[platforms]'"
            ) from None
        try:
            if self._credentials is None:
                credentials, project = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
                self._credentials, self._project = credentials, project
            self._credentials.refresh(Request())
        except google.auth.exceptions.GoogleAuthError as exc:
            # google-auth's messages name files and variables, never a token.
            raise ConfigError(
                "no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service-account "
                "key file, run `gcloud auth application-default login`, or run on Google Cloud "
                f"with a service account ({type(exc).__name__}: {str(exc)[:200]})"
            ) from None
        if not self._credentials.token:
            raise ConfigError("Application Default Credentials gave no access token")


def _stale(credentials: Any) -> bool:
    if not credentials.token:
        return True
    expiry = credentials.expiry  # naive UTC in google-auth
    if expiry is None:
        return False
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return bool(expiry - _EARLY <= now)
