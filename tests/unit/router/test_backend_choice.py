"""Which web process a request goes to: round robin, skipping one busier than another, and one
a connect failed to a moment ago."""

from __future__ import annotations

from twelve.router.pool import BackendConnections, least_busy
from twelve.router.table import Backend

BACKENDS = tuple(Backend(f"web.{i}", "127.0.0.1", 5000 + i) for i in (1, 2, 3))
NOW = 1000.0  # the loop's clock


def slots(*loads: tuple[int, int]) -> dict[str, BackendConnections]:
    """Counts by backend: (requests in flight, connects under way) for web.1, web.2, ..."""
    made = {}
    for backend, (busy, connecting) in zip(BACKENDS, loads, strict=False):
        slot = made[backend.key] = BackendConnections(backend.key, backend.port, True)
        slot.busy, slot.connecting = busy, connecting
    return made


def test_with_nothing_in_flight_each_turn_takes_the_next_process():
    idle = slots((0, 0), (0, 0), (0, 0))
    assert [least_busy(idle, BACKENDS, turn, NOW) for turn in range(5)] == [0, 1, 2, 0, 1]


def test_a_process_with_more_in_flight_is_skipped_for_the_least_busy():
    assert least_busy(slots((2, 0), (1, 0), (0, 0)), BACKENDS, 0, NOW) == 2
    assert least_busy(slots((3, 0), (1, 0), (2, 0)), BACKENDS, 0, NOW) == 1


def test_among_equally_busy_processes_the_first_from_the_turn_on_wins():
    even = slots((1, 0), (1, 0), (1, 0))
    assert [least_busy(even, BACKENDS, turn, NOW) for turn in range(3)] == [0, 1, 2]
    assert least_busy(slots((2, 0), (1, 0), (1, 0)), BACKENDS, 0, NOW) == 1
    assert least_busy(slots((1, 0), (2, 0), (1, 0)), BACKENDS, 1, NOW) == 2


def test_connects_under_way_count_as_requests_in_flight():
    # Requests read together all choose before any of their connections is up.
    assert least_busy(slots((0, 2), (1, 0), (0, 0)), BACKENDS, 0, NOW) == 2
    assert least_busy(slots((0, 2), (1, 0), (1, 1)), BACKENDS, 0, NOW) == 1


def test_a_process_the_pool_has_not_seen_counts_as_idle():
    assert least_busy(slots((1, 0)), BACKENDS, 0, NOW) == 1
    assert least_busy({}, BACKENDS, 2, NOW) == 2


def failing(made: dict[str, BackendConnections], *indexes: int, until: float = NOW + 10):
    for index in indexes:
        made[BACKENDS[index].key].failed_until = until
    return made


def test_a_process_a_connect_failed_to_is_tried_last_however_busy_the_others():
    assert least_busy(failing(slots((0, 0), (5, 0), (9, 1)), 0), BACKENDS, 0, NOW) == 1
    assert [
        least_busy(failing(slots((0, 0), (0, 0), (0, 0)), 1), BACKENDS, t, NOW) for t in range(3)
    ] == [0, 2, 2]


def test_when_every_process_failed_the_least_busy_of_them_is_tried():
    assert least_busy(failing(slots((2, 0), (1, 0), (3, 0)), 0, 1, 2), BACKENDS, 0, NOW) == 1


def test_a_failure_older_than_the_fail_timeout_no_longer_counts():
    assert least_busy(failing(slots((0, 0), (0, 0), (0, 0)), 0, until=NOW), BACKENDS, 0, NOW) == 0


def test_a_process_that_answered_5xx_is_chosen_on_its_own_turns_only():
    made = slots((2, 0), (0, 0), (1, 0))
    made[BACKENDS[1].key].erred_until = NOW + 10
    assert least_busy(made, BACKENDS, 0, NOW) == 2  # not web.2, idle as it looks
    assert least_busy(made, BACKENDS, 1, NOW) == 1
    made[BACKENDS[1].key].erred_until = NOW
    assert least_busy(made, BACKENDS, 0, NOW) == 1  # the fail timeout has passed


def test_a_process_that_answered_5xx_is_still_chosen_over_one_that_refuses():
    made = failing(slots((0, 0), (3, 0), (0, 0)), 0, 2)
    made[BACKENDS[1].key].erred_until = NOW + 10
    assert least_busy(made, BACKENDS, 0, NOW) == 1
