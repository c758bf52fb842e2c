"""Streamed answers: the async and sync ``MessageStream`` (retries before the first content,
raw bytes for a proxy, events for an app) over one ``StreamState`` that accumulates the events."""
