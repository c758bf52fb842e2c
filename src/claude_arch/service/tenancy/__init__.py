"""Who may call and how much: service keys (hashed at rest, cached, revocable), where a caller's
key comes from, per-key limits and budgets (in process or in Redis), and ``claude-arch keys``."""
