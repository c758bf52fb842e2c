"""The Anthropic-compatible API: ``/v1/messages`` (JSON and stream), ``count_tokens``, models and
Message Batches, and the admission path every upstream call takes (the key's quota, a slot at the
in-flight gate, the core client, settlement)."""
