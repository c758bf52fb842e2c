"""The HTTP layer under every route: the uvicorn server and its connection protocol (hangups,
bounded request heads, send timeouts, coalesced writes), the request-context middleware, request
bodies, the fast dispatch of the hot routes, and errors in the Anthropic shape."""
