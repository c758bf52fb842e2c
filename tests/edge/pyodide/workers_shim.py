"""A stand-in for the Workers runtime's ``workers`` module, as much of it as entry.py uses.

The real module (workerd's ``workers/_workers.py``) wraps the JavaScript Request, Response and env
the same way: ``Request.js_object``, ``Response(body, status=, headers=)`` over ``js.Response``,
and a ``WorkerEntrypoint`` holding ``ctx`` and ``env``. harness.mjs installs this as ``workers``.
"""

import js
from pyodide.ffi import to_js

_NULL_BODY_STATUSES = (101, 204, 205, 304)


class Request:
    def __init__(self, js_request):
        self.js_object = js_request

    @property
    def url(self):
        return self.js_object.url

    @property
    def method(self):
        return self.js_object.method


class Response:
    def __init__(self, body=None, status=200, status_text="", headers=None):
        if isinstance(body, bytes | bytearray):
            body = to_js(bytes(body))
        elif body is not None and not isinstance(body, str) and not hasattr(body, "getReader"):
            raise TypeError(f"Unsupported type in Response: {type(body).__name__}")
        if body is not None and status in _NULL_BODY_STATUSES:
            raise TypeError(f"a Response with status {status} cannot have a body")
        init = {"status": status, "headers": js.Headers.new(to_js(list((headers or {}).items())))}
        if status_text:
            init["statusText"] = status_text
        self.js_object = js.Response.new(body, to_js(init, dict_converter=js.Object.fromEntries))


class WorkerEntrypoint:
    def __init__(self, ctx, env):
        self.ctx = ctx
        self.env = env
