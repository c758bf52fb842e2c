"""The two dispatchers of sync mode over one job function: ``local`` (an asyncio pool in one
process) and ``celery`` (workers on Redis or RabbitMQ: the app, the broker hand-off, what a
worker process holds), with what both need: lease renewal and the spending cap per run."""
