"""The canary check the reliability fixtures run at teardown finds a secret whole, a piece of
it in a response or a log file, and nothing in clean text: it can fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from live_gateway import PIECE, Leaks, new_canary


def test_a_canary_whole_or_in_part_is_found(tmp_path: Path) -> None:
    canary = new_canary("sk-ant-canary-")
    leaks = Leaks(canaries=[canary])
    leaks.seen("an answer without secrets", b"\xff bytes")
    leaks.check()
    leaks.seen(f"... {canary[-PIECE - 3 : -3]} ...")  # a piece, in a response
    with pytest.raises(AssertionError, match="canary secrets reached"):
        leaks.check()
    log = tmp_path / "service.log"
    log.write_text(f'{{"msg": "key {canary}"}}\n')
    in_log = Leaks(canaries=[canary], texts=["clean"], log_files=[log])
    assert canary in in_log.found()
