"""claude-arch core: the one place for policy (catalog, wire, retries, limits, metering)."""
