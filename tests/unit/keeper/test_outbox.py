"""What the keeper keeps for the daemon: in order, until acknowledged, bounded."""

from __future__ import annotations

from collections.abc import Callable

from twelve.keeper.outbox import Outbox


def line(text: str) -> Callable[[int], bytes]:
    return lambda seq: f"{seq}:{text}\n".encode()


def sent_all(box: Outbox) -> list[bytes]:
    taken = []
    while (entry := box.take_unsent()) is not None:
        taken.append(entry.payload)
    return taken


def test_messages_go_in_order_and_again_to_a_new_daemon_until_acknowledged() -> None:
    box = Outbox(limit=1 << 20)
    for text in "abc":
        box.add(7, line(text))
    assert sent_all(box) == [b"1:a\n", b"2:b\n", b"3:c\n"]
    box.ack(2)
    box.resend()
    assert sent_all(box) == [b"3:c\n"]
    box.ack(3)
    box.resend()
    assert sent_all(box) == [] and box.size == 0


def test_past_the_limit_the_oldest_lines_go_and_are_counted_but_exits_stay() -> None:
    box = Outbox(limit=40)
    box.add(1, lambda seq: f"{seq}:exit\n".encode(), droppable=False)
    for n in range(20):
        box.add(2, line(f"line {n}"))
    kept = sent_all(box)
    assert kept[0] == b"1:exit\n"
    assert kept[-1] == b"21:line 19\n"
    assert box.size <= 40
    drops = box.take_drops()
    assert drops == {2: 20 - (len(kept) - 1)} and drops[2] > 0
    assert box.take_drops() == {}


def test_an_end_of_output_or_an_exit_never_pushes_out_a_line() -> None:
    """So the count of drops queued before a process's end of output is its last."""
    box = Outbox(limit=40)
    for n in range(5):
        box.add(2, line(f"line {n}"))
    before = box.take_drops()
    box.add(2, lambda seq: f"{seq}:d\n".encode(), droppable=False)
    box.add(2, lambda seq: f"{seq}:eof\n".encode(), droppable=False)
    box.add(2, lambda seq: f"{seq}:exit\n".encode(), droppable=False)
    assert box.take_drops() == {}, "nothing dropped after the last count"
    kept = sent_all(box)
    assert kept[-3:] == [b"6:d\n", b"7:eof\n", b"8:exit\n"]
    assert before[2] + len(kept) - 3 == 5, "every line kept or counted"
