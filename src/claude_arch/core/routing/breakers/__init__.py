"""Circuit breakers per model: in this process (``local``), shared through Redis with a
blocking client (``redis``), and shared through Redis without blocking the event loop
(``shared``: writes as tasks, reads from a view refreshed each second)."""
