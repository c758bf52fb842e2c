"""Pieces of ``bench/bench_service.py``: processes, the wrk runner, the Python stream clients."""
