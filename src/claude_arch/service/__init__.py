"""The service variant: an Anthropic-compatible FastAPI gateway (see docs/service.md)."""
