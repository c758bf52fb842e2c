"""What decides a tier when the policy's rules are not sure: the ``Classifier`` protocol and its
kinds: ``rules`` (the policy's own conditions), ``llm`` (the cheapest model with a forced tool,
its prompt and a TTL+LRU decision cache), ``embedding`` (MiniLM sentence embeddings, numpy only)
and ``cascade`` (answer cheap, escalate when a check on the answer fails)."""
