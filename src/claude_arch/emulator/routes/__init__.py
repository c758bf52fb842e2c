"""The emulator's HTTP routes: the Messages API (JSON, SSE, count_tokens), Message Batches,
models, and Claude's APIs on Amazon Bedrock and Google Vertex AI."""
