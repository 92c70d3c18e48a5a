"""The adaptive limit of one account (aimd.py): growth, cuts on 429 and latency, bounds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.adapters.twilio_gateway.aimd import AimdLimit, AimdPolicy, Signal


def answered(
    limit: AimdLimit,
    *,
    in_flight: int | None = None,
    latency: float | None = None,
    operation: str = "fetch_bundle",
) -> None:
    """An answered request of the current generation; in flight: the whole limit by default."""
    limit.on_sample(
        Signal.ANSWERED,
        generation=limit.generation,
        in_flight=limit.limit if in_flight is None else in_flight,
        latency=latency,
        operation=None if latency is None else operation,
    )


def overloaded(limit: AimdLimit, generation: int | None = None) -> None:
    limit.on_sample(
        Signal.OVERLOAD,
        generation=limit.generation if generation is None else generation,
        in_flight=limit.limit,
    )


def test_it_starts_at_the_initial_limit_within_the_bounds() -> None:
    assert AimdLimit(AimdPolicy(initial=8)).limit == 8
    assert AimdLimit(AimdPolicy(initial=8, ceiling=5)).limit == 5
    assert AimdLimit(AimdPolicy(initial=2, floor=3, ceiling=5)).limit == 3


def test_slow_start_adds_one_per_answer_while_the_limit_is_in_use() -> None:
    limit = AimdLimit(AimdPolicy(initial=8))
    for _ in range(8):
        answered(limit)
    assert limit.limit == 16  # one round trip of 8 answers doubled it


def test_the_limit_grows_only_while_it_binds() -> None:
    limit = AimdLimit(AimdPolicy(initial=8))
    for _ in range(100):
        answered(limit, in_flight=7)  # room for one more: a larger limit is not needed yet
    assert limit.limit == 8
    answered(limit, in_flight=8)
    assert limit.limit == 9


def test_a_429_halves_the_limit_and_growth_turns_additive() -> None:
    limit = AimdLimit(AimdPolicy(initial=40))
    overloaded(limit)
    assert limit.limit == 20
    assert limit.generation == 1
    for _ in range(19):
        answered(limit)
    assert limit.limit == 20  # about +1/20 per answer: 19 answers are not yet one more
    answered(limit)
    answered(limit)
    assert limit.limit == 21


def test_a_burst_of_429s_from_one_generation_halves_once() -> None:
    limit = AimdLimit(AimdPolicy(initial=64))
    started_under_64 = limit.generation
    for _ in range(30):
        overloaded(limit, generation=started_under_64)
    assert limit.limit == 32
    overloaded(limit)  # a request that started under 32 and still got a 429
    assert limit.limit == 16


def test_an_answer_from_before_a_cut_does_not_undo_it() -> None:
    """Growth is not generation-bound, but a stale answer arrives when the limit is in use."""
    limit = AimdLimit(AimdPolicy(initial=10))
    overloaded(limit)
    limit.on_sample(Signal.ANSWERED, generation=0, in_flight=2)
    assert limit.limit == 5


def test_the_limit_never_exceeds_the_ceiling() -> None:
    limit = AimdLimit(AimdPolicy(initial=8, ceiling=12))
    for _ in range(500):
        answered(limit)
    assert limit.limit == 12


def test_the_limit_never_falls_below_the_floor() -> None:
    limit = AimdLimit(AimdPolicy(initial=8, floor=2))
    for _ in range(10):
        overloaded(limit)
    assert limit.limit == 2
    assert limit.generation == 10


def test_rising_latency_cuts_the_limit_gently_and_stops_growth() -> None:
    limit = AimdLimit(AimdPolicy(initial=20))
    for _ in range(20):
        answered(limit, latency=0.100)
    grown = limit.limit
    assert grown == 40
    limits = []
    for _ in range(grown * 3):
        answered(limit, latency=0.400)  # 4x the minimum: requests queue at Twilio
        limits.append(limit.limit)
        if limit.generation > 0:
            break
    # The ratio averages about one round trip (1/limit per answer): a handful of slow answers
    # are not enough, a round trip's worth is. Growth pauses halfway (ratio 1.5), then -10%.
    assert limit.generation == 1
    assert 5 < len(limits) <= 2 * grown
    peak = limits[-2]
    assert limits[-6:-1] == [peak] * 5
    assert limits[-1] == int(peak * 0.9)
    # Still slow: one more cut per round trip (the answers of requests sent under the last
    # limit), never more, never growth.
    expected = peak * 0.9
    for _ in range(5):
        sent_under = limit.generation
        for _ in range(limit.limit):
            limit.on_sample(
                Signal.ANSWERED,
                generation=sent_under,
                in_flight=limit.limit,
                latency=0.400,
                operation="fetch_bundle",
            )
        expected *= 0.9
        assert limit.limit == int(expected)
    assert limit.generation == 6
    assert limit.latency_ratio > 2.0


def test_one_slow_answer_is_not_congestion() -> None:
    limit = AimdLimit(AimdPolicy(initial=20))
    for _ in range(10):
        answered(limit, latency=0.1)
    before = limit.limit
    answered(limit, latency=0.5)
    assert limit.limit == before + 1
    assert limit.generation == 0


def test_each_operation_is_compared_with_its_own_minimum() -> None:
    """A replace-items is slower than a fetch by nature: a mix of both is not congestion."""
    limit = AimdLimit(AimdPolicy(initial=20, ceiling=1000))
    for _ in range(50):
        answered(limit, latency=0.1, operation="fetch_bundle")
        answered(limit, latency=1.5, operation="replace_items")
    assert limit.generation == 0
    assert limit.latency_ratio == pytest.approx(1.0)
    assert limit.limit > 20


def test_a_lasting_change_of_latency_becomes_the_new_normal() -> None:
    limit = AimdLimit(AimdPolicy(initial=20, floor=1))
    answered(limit, latency=0.05)
    for _ in range(1000):
        answered(limit, latency=0.3)  # e.g. Twilio moved away, for good
    cut = limit.generation
    assert cut > 0
    for _ in range(200):
        answered(limit, latency=0.3)
    assert limit.generation == cut  # the minimum drifted up: no more cuts
    assert limit.latency_ratio < 2.0


def test_neutral_outcomes_change_nothing() -> None:
    limit = AimdLimit(AimdPolicy(initial=8))
    for _ in range(10):
        limit.on_sample(Signal.NEUTRAL, generation=0, in_flight=8, latency=9.9, operation="x")
    assert (limit.limit, limit.generation, limit.latency_ratio) == (8, 0, 1.0)


def test_a_fixed_policy_never_moves() -> None:
    limit = AimdLimit(AimdPolicy.fixed(4))
    overloaded(limit)
    for _ in range(100):
        answered(limit, latency=0.1)
    assert limit.limit == 4


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"floor": 0}, "floor"),
        ({"floor": 5, "ceiling": 4}, "floor"),
        ({"initial": 0}, "initial"),
        ({"overload_factor": 1.0}, "overload_factor"),
        ({"latency_factor": 0.0}, "latency_factor"),
        ({"latency_tolerance": 1.0}, "latency_tolerance"),
        ({"latency_smoothing": 0.0}, "latency_smoothing"),
        ({"baseline_drift": 1.0}, "baseline_drift"),
    ],
)
def test_nonsensical_policies_are_refused(changes: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AimdPolicy(**changes)  # type: ignore[arg-type]


samples = st.lists(
    st.tuples(
        st.sampled_from(list(Signal)),
        st.integers(min_value=0, max_value=3),  # generations behind the current one
        st.integers(min_value=0, max_value=300),
        st.floats(min_value=0.0, max_value=30.0),
        st.sampled_from(["fetch_bundle", "replace_items", "create_evaluation"]),
    ),
    max_size=300,
)


@given(
    floor=st.integers(min_value=1, max_value=10),
    span=st.integers(min_value=0, max_value=200),
    initial=st.integers(min_value=1, max_value=300),
    samples=samples,
)
def test_the_limit_stays_within_its_bounds_whatever_happens(
    floor: int,
    span: int,
    initial: int,
    samples: list[tuple[Signal, int, int, float, str]],
) -> None:
    policy = AimdPolicy(initial=initial, floor=floor, ceiling=floor + span)
    limit = AimdLimit(policy)
    for signal, behind, in_flight, latency, operation in samples:
        generation = max(0, limit.generation - behind)
        limit.on_sample(
            signal,
            generation=generation,
            in_flight=in_flight,
            latency=latency,
            operation=operation,
        )
        assert policy.floor <= limit.limit <= policy.ceiling
