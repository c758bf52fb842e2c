"""What the emulated model answers and how fast: replies from a request (text, tool inputs that
validate against their schema, citations, server-tool blocks), scripted rules, the SSE event
sequence, and the latency model."""
