"""Batch mode (``pipeline run --mode batch``): jobs as Message Batches at the batch price; each
batch recorded before it is created, matched against ``batches.list`` after a crash, its
results ingested by ``custom_id``, and expired or retryable requests sent again."""
