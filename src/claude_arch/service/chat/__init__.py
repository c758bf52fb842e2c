"""Chat for the web page and simple clients: ``POST /v1/chat`` (SSE) and the ``/v1/chat/ws``
WebSocket, one turn at a time over a server-side session (SQL or Redis), trimmed to the model's
window."""
