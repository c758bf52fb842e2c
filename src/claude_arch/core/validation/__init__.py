"""What a request may be: the Messages API body as pydantic models (blocks, tools, thinking,
citations), the bound on nesting, and the lists of fields the API accepts."""
