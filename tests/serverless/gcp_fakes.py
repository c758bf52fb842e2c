"""Google's metadata server and Secret Manager's REST API on a local port, for the functions'
tests: the token endpoint a function's service account uses, and ``…/versions/*:access``."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "ya29.local-test-token"


@dataclass
class FakeGoogle:
    """The secrets it holds (``projects/P/secrets/S`` → value) and the requests it saw."""

    host: str = ""
    secrets: dict[str, str] = field(default_factory=dict)
    accesses: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}"


@contextmanager
def fake_google() -> Iterator[FakeGoogle]:
    state = FakeGoogle()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            return

        def _send(self, status: int, doc: object) -> None:
            body = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path.endswith("/service-accounts/default/token"):
                if self.headers.get("Metadata-Flavor") != "Google":
                    self._send(403, {"error": "missing Metadata-Flavor"})
                    return
                self._send(200, {"access_token": TOKEN, "expires_in": 3599, "token_type": "Bearer"})
                return
            if self.path.startswith("/v1/projects/") and self.path.endswith(":access"):
                if self.headers.get("authorization") != f"Bearer {TOKEN}":
                    self._send(401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}})
                    return
                name = self.path[len("/v1/") : -len(":access")]
                secret = name.split("/versions/")[0]
                state.accesses.append(name)
                if secret not in state.secrets:
                    self._send(404, {"error": {"code": 404, "status": "NOT_FOUND"}})
                    return
                data = base64.b64encode(state.secrets[secret].encode()).decode()
                self._send(200, {"name": f"{secret}/versions/1", "payload": {"data": data}})
                return
            self._send(404, {"error": "not found"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.host = f"127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
