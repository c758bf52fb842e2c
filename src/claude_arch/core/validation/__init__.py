"""What a request may be: the Messages API body as pydantic models (blocks, tools, thinking,
citations; built on first need), the plain text request as one pydantic-core schema (the fast
path, :mod:`.plain_schema`), the bound on nesting, and the lists of fields the API accepts."""
