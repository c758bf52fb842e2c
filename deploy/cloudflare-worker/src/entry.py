"""The claude-arch edge as a Cloudflare Python Worker: Workers' request, env and response in, the
edge core (``claude_arch.edge``, uploaded beside this file by ``claude-arch edge bundle``) does the
rest. Nothing here decides anything.
"""

from workers import Response, WorkerEntrypoint

from claude_arch.edge.on_workers import WorkersEdge

# one per isolate: it keeps the parsed settings and the short-lived cache of keys between requests
_edge = WorkersEdge()


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        answer = await _edge.handle(request, self.env, self.ctx)
        if answer.stream is not None:
            # the upstream's ReadableStream itself: the runtime pipes it to the client
            return Response(answer.stream, status=answer.status, headers=answer.headers)
        # a null body for 204 and empty answers: a Response with a body may not have status 204
        return Response(answer.body or None, status=answer.status, headers=answer.headers)
