"""The source file Cloud Functions loads (``--source deploy/gcp``): the three functions of
claude_arch.serverless.gcp.functions, each deployed with its own ``--entry-point``."""

from claude_arch.serverless.gcp.functions import ask, on_pubsub, on_task

__all__ = ["ask", "on_pubsub", "on_task"]
