"""What ``anthropic-ratelimit-*-remaining`` does to the in-process limiter, on a fake clock.

The rule (``docs/rate-limits.md`` § Remaining): a response says what the server had left right
after it admitted the request; when the request's reservation is settled, the limiter ages that
to now with its own traffic since the admission (refill in, later admissions out, refunds back)
and lowers a bucket that is above it, never raises one, never below zero. The hypothesis test
drives a model of the API's buckets, written apart from the limiter's code, that others in the
organisation spend too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from claude_arch.core.pricing.catalog import Limits
from claude_arch.core.ratelimit import LocalRateLimiter, Reservation
from claude_arch.core.ratelimit.base import read_headers
from claude_arch.core.ratelimit.buckets import FamilyBuckets
from claude_arch.testing import ManualClock

LIM = Limits(rpm=20, itpm=3000, otpm=900)
CAPS = (LIM.rpm, LIM.itpm, LIM.otpm)
P = "anthropic-ratelimit-"


def headers(remaining: tuple[float, float, float], caps: tuple[int, ...] = CAPS) -> dict[str, str]:
    """An answer's headers as the API sends them (limits, and whole units remaining)."""
    out: dict[str, str] = {}
    kinds = ("requests", "input-tokens", "output-tokens")
    for kind, cap, left in zip(kinds, caps, remaining, strict=True):
        out[f"{P}{kind}-limit"] = str(cap)
        out[f"{P}{kind}-remaining"] = str(max(0, int(left)))
    return out


def levels(limiter: LocalRateLimiter, now: float, family: str = "a") -> tuple[float, ...]:
    """The limiter's three levels at ``now`` (unrounded: the rule's bounds are exact)."""
    buckets: FamilyBuckets = limiter._buckets[("", family)]
    buckets.refill(now)
    return (buckets.requests.level, buckets.input_tokens.level, buckets.output_tokens.level)


# --- reading the headers -------------------------------------------------------------------------
def test_read_headers_matches_any_case_and_skips_junk() -> None:
    said = read_headers(
        {
            "Anthropic-RateLimit-Requests-Limit": "50",
            "anthropic-ratelimit-requests-remaining": "0",  # zero is news, not "absent"
            "anthropic-ratelimit-input-tokens-limit": "inf",
            "anthropic-ratelimit-input-tokens-remaining": "-3",
            "anthropic-ratelimit-output-tokens-remaining": "12000.0",
        }
    )
    assert said == ((50, None, None), (0, None, 12000))
    assert read_headers({"content-type": "application/json"}) is None
    assert read_headers({f"{P}tokens-remaining": "5"}) is None  # the combined kind is not a bucket


# --- concrete cases ------------------------------------------------------------------------------
def test_a_second_process_learns_what_the_first_spent() -> None:
    """Two limiters for one organisation (no shared store): B's view comes down to the server's."""
    clock = ManualClock()
    server = LocalRateLimiter({"a": LIM}, clock=clock)  # the API's buckets (the emulator's code)
    a = LocalRateLimiter({"a": LIM}, clock=clock)
    b = LocalRateLimiter({"a": LIM}, clock=clock)
    for _ in range(15):
        assert isinstance(a.try_acquire("a", input_tokens=10, output_tokens=10), Reservation)
        assert isinstance(server.try_acquire("a", input_tokens=10, output_tokens=10), Reservation)
    res = b.try_acquire("a", input_tokens=10, output_tokens=10)
    assert isinstance(res, Reservation)
    assert isinstance(server.try_acquire("a", input_tokens=10, output_tokens=10), Reservation)
    state = server.snapshot("a")
    assert state is not None
    assert state.requests.remaining == 4
    b.learn("a", headers((4, 2840, 740)), reservation=res)
    b.settle(res, input_tokens=10, output_tokens=10)
    admitted = 0
    while isinstance(b.try_acquire("a", input_tokens=10, output_tokens=10), Reservation):
        admitted += 1
    assert admitted == 4  # what the server still had, not the 19 B believed it had
    clock.advance(6.0)  # two requests' worth of refill
    assert isinstance(b.try_acquire("a", input_tokens=10, output_tokens=10), Reservation)


def test_aged_from_the_admission_not_from_the_reading() -> None:
    """Admissions after the answered one are not in its ``remaining``: they are taken off."""
    clock = ManualClock()
    limiter = LocalRateLimiter({"a": LIM}, clock=clock)
    first = limiter.try_acquire("a", input_tokens=0, output_tokens=0)
    assert isinstance(first, Reservation)
    for _ in range(5):  # sent before the first answer came back
        assert isinstance(limiter.try_acquire("a", input_tokens=0, output_tokens=0), Reservation)
    clock.advance(3.0)  # one request of refill
    limiter.learn("a", headers((10, 3000, 900)), reservation=first)
    assert levels(limiter, clock.now)[0] == 20 - 6 + 1  # applied when it is settled
    limiter.settle(first, input_tokens=0, output_tokens=0)
    # the server had 10 after the first; since then 5 more were sent and 1 came back
    assert levels(limiter, clock.now)[0] == 10 - 5 + 1
    # without a reservation the figure counts as of now
    limiter.learn("a", headers((3, 3000, 900)))
    assert levels(limiter, clock.now)[0] == 3


def test_a_learned_limit_and_its_remaining_in_one_answer() -> None:
    """The preset is lower than the real limit: the answer raises the limit (keeping what is in
    use) and says how much of the larger bucket others have spent."""
    clock = ManualClock()
    limiter = LocalRateLimiter({"a": LIM}, clock=clock)
    res = limiter.try_acquire("a", input_tokens=0, output_tokens=0)
    assert isinstance(res, Reservation)
    limiter.learn("a", headers((30, 6000, 1800), caps=(40, 6000, 1800)), reservation=res)
    limiter.settle(res, input_tokens=0, output_tokens=0)
    assert limiter.limits_for("a") == Limits(40, 6000, 1800)
    assert levels(limiter, clock.now) == (30.0, 6000.0, 1800.0)  # 39 in its view: 30 left


def test_never_raises_nor_goes_negative_and_other_limits_are_ignored() -> None:
    clock = ManualClock()
    limiter = LocalRateLimiter({"a": LIM}, clock=clock)
    res = limiter.try_acquire("a", input_tokens=1000, output_tokens=100)
    assert isinstance(res, Reservation)
    limiter.learn("a", headers((20, 3000, 900)), reservation=res)  # the server has more: ignored
    limiter.settle(res, input_tokens=1000, output_tokens=100)
    before = levels(limiter, clock.now)
    assert before == (19.0, 2000.0, 800.0)
    later = limiter.try_acquire("a", input_tokens=2000, output_tokens=800)
    assert isinstance(later, Reservation)
    limiter.learn("a", headers((0, 0, 0)), reservation=res)  # settled already: applied now
    assert levels(limiter, clock.now) == (0.0, 0.0, 0.0)  # not -1 / -2000 / -800
    limiter.settle(later, input_tokens=0, output_tokens=0)
    # a gateway key's headers (another limit) say nothing about the organisation's bucket
    clock.advance(60.0)
    limiter.learn("a", {f"{P}requests-limit": "5", f"{P}requests-remaining": "0"}, scope="key-1")
    assert levels(limiter, clock.now)[0] == LIM.rpm
    # a bucket in debt (usage charged beyond its reservation) is left as it is
    debt = limiter.try_acquire("a", input_tokens=3000, output_tokens=0)
    assert isinstance(debt, Reservation)
    limiter.settle(debt, input_tokens=4000, output_tokens=0)
    limiter.learn("a", headers((0, 0, 0)))
    assert levels(limiter, clock.now)[1] == -1000.0


# --- the rule against a model of the server ------------------------------------------------------
@dataclass
class ModelServer:
    """The API's three buckets, as documented: continuous refill, all-or-nothing admission,
    refunds of unused ``max_tokens`` when a request ends, charges beyond its estimate."""

    now: float
    levels: list[float] = field(default_factory=lambda: [float(c) for c in CAPS])

    def refill(self, now: float) -> None:
        for k, cap in enumerate(CAPS):
            self.levels[k] = min(cap, self.levels[k] + (now - self.now) * cap / 60.0)
        self.now = now

    def take(self, amounts: tuple[int, int, int]) -> bool:
        if any(self.levels[k] < amounts[k] for k in range(3)):
            return False
        for k in range(3):
            self.levels[k] -= amounts[k]
        return True

    def give(self, amounts: tuple[int, int, int]) -> None:
        for k, cap in enumerate(CAPS):
            self.levels[k] = min(cap, self.levels[k] + amounts[k])


def replay(start: tuple[int, ...], sent: Sent, now: float, flows: list) -> list[float]:
    """The server seen through this limiter's own traffic: ``start`` left right after ``sent``
    was admitted, then every later admission and refund of this limiter, with capped refill,
    up to ``now``."""
    level = [float(x) for x in start]
    at = sent.at
    for when, deltas in flows[sent.index + 1 :]:
        for k, cap in enumerate(CAPS):
            level[k] = min(cap, level[k] + (when - at) * cap / 60.0)
            level[k] = min(cap, level[k] + deltas[k])
        at = when
    return [min(cap, level[k] + (now - at) * cap / 60.0) for k, cap in enumerate(CAPS)]


def target(start: tuple[int, ...], sent: Sent, now: float, flows: list) -> list[float]:
    """Where the rule puts a bucket above it: ``start`` plus this limiter's own traffic since
    (refill, admissions, refunds, none of them capped: the server saw them all)."""
    later = flows[sent.index + 1 :]
    return [
        start[k] + (now - sent.at) * cap / 60.0 + sum(deltas[k] for _, deltas in later)
        for k, cap in enumerate(CAPS)
    ]


@dataclass
class Sent:
    res: Reservation
    at: float
    index: int  # of its admission in the limiter's flows
    admitted: bool  # by the server: False is a 429
    said: tuple[int, int, int]  # what the answer's headers say is left
    used: tuple[int, int]


actions = st.one_of(
    st.tuples(st.just("advance"), st.floats(0.0, 8.0)),
    st.tuples(
        st.just("send"),
        st.integers(0, 700),
        st.integers(1, 300),
        st.floats(0.0, 1.5),
        st.floats(0.0, 1.0),
    ),
    st.tuples(st.just("others"), st.integers(0, 4), st.integers(0, 900), st.integers(0, 300)),
    st.tuples(st.just("answer"), st.integers(0, 50)),
    st.tuples(st.just("settle"), st.integers(0, 50)),
    st.tuples(st.just("replay"), st.integers(0, 50)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(actions, max_size=60))
def test_the_rule_against_a_server_others_spend_from_too(steps: list) -> None:
    clock = ManualClock()
    limiter = LocalRateLimiter({"a": LIM}, clock=clock)
    server = ModelServer(clock.now)
    flows: list[tuple[float, tuple[int, int, int]]] = []  # this limiter's takes and refunds
    in_flight: list[Sent] = []  # sent, answer not read yet
    answered: list[Sent] = []  # answer read (``learn``), not settled yet
    settled: list[Sent] = []
    rejected: list[int] = []  # flow indices of admissions the server turned away

    def check(sent: Sent, before: list[float], after: tuple[float, ...]) -> None:
        """``before``: the levels the rule started from (the settle's refund included)."""
        now = clock.now
        bound = replay(sent.said, sent, now, flows)
        goal = target(sent.said, sent, now, flows)
        for k in range(3):
            assert after[k] <= before[k] + 1e-9, "raised"
            if before[k] >= 0:
                assert after[k] >= 0.0, "went negative"
            else:
                assert after[k] == before[k], "changed a debt"
            # never more than the server had left plus refill, less what was sent since
            assert after[k] <= max(0.0, bound[k]) + 1e-6, (k, after, bound)
            # and no lower than that either
            if before[k] > 0 and goal[k] < before[k]:
                assert abs(after[k] - max(0.0, goal[k])) < 1e-6, (k, after, goal)

    def settle(sent: Sent) -> None:
        before = levels(limiter, clock.now)
        used_in, used_out = sent.used if sent.admitted else (0, 0)
        limiter.settle(sent.res, input_tokens=used_in, output_tokens=used_out)
        back = (0, sent.res.input_tokens - used_in, sent.res.output_tokens - used_out)
        flows.append((clock.now, back))
        if sent.admitted:
            server.give(back)
        given = [min(cap, before[k] + back[k]) for k, cap in enumerate(CAPS)]
        check(sent, given, levels(limiter, clock.now))
        settled.append(sent)

    def replay_answer(sent: Sent) -> None:
        """An answer read again, or an older one read after newer ones: nothing new in it."""
        before = levels(limiter, clock.now)
        limiter.learn("a", headers(sent.said), reservation=sent.res)  # settled: applied now
        after = levels(limiter, clock.now)
        check(sent, list(before), after)
        if not any(i > sent.index for i in rejected):
            # (unless the server turned away a request sent since: it kept a unit this
            # limiter counts as spent)
            assert all(a >= b - 1e-6 for a, b in zip(after, before, strict=True)), (
                "a stale answer lowered the bucket"
            )

    for step in steps:
        kind = step[0]
        if kind == "advance":
            clock.advance(step[1])
            server.refill(clock.now)
        elif kind == "send":
            _, estimate, max_tokens, in_frac, out_frac = step
            got = limiter.try_acquire("a", input_tokens=estimate, output_tokens=max_tokens)
            if not isinstance(got, Reservation):
                continue
            index = len(flows)
            flows.append((clock.now, (-1, -estimate, -max_tokens)))
            admitted = server.take((1, estimate, max_tokens))
            if not admitted:
                rejected.append(index)
            said = tuple(int(x) for x in server.levels)
            used = (int(estimate * in_frac), int(max_tokens * out_frac))
            in_flight.append(Sent(got, clock.now, index, admitted, said, used))  # type: ignore[arg-type]
        elif kind == "others":
            server.take((step[1], step[2], step[3]))
        elif kind == "answer" and in_flight:
            sent = in_flight.pop(step[1] % len(in_flight))
            before = levels(limiter, clock.now)
            limiter.learn("a", headers(sent.said), reservation=sent.res)
            assert levels(limiter, clock.now) == before  # kept for the settle
            answered.append(sent)
        elif kind == "settle" and answered:
            settle(answered.pop(step[1] % len(answered)))
        elif kind == "replay" and settled:
            replay_answer(settled[step[1] % len(settled)])


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 900)), min_size=1, max_size=20),
    st.integers(0, 2999),
)
def test_rounded_token_figures_only_lower_further(takes: list, spent: int) -> None:
    """The API rounds token ``remaining`` (the emulator: down to thousands): a rounded-down
    figure lowers the bucket at least as far as the exact one would have."""
    clock = ManualClock()
    exact = LocalRateLimiter({"a": LIM}, clock=clock)
    rounded = LocalRateLimiter({"a": LIM}, clock=clock)
    left = LIM.itpm - spent
    for estimate, _ in takes:
        one = exact.try_acquire("a", input_tokens=estimate, output_tokens=0)
        two = rounded.try_acquire("a", input_tokens=estimate, output_tokens=0)
        if not isinstance(one, Reservation) or not isinstance(two, Reservation):
            break
        left = max(0, left - estimate)
        exact.learn("a", headers((20, left, 900)), reservation=one)
        rounded.learn("a", headers((20, left // 1000 * 1000, 900)), reservation=two)
        exact.settle(one, input_tokens=estimate, output_tokens=0)
        rounded.settle(two, input_tokens=estimate, output_tokens=0)
        assert levels(rounded, clock.now)[1] <= levels(exact, clock.now)[1]
