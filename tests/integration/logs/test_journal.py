"""An app's log history on disk: bounded by size, numbered by cursors that outlive restarts."""

import os
from datetime import UTC, datetime
from pathlib import Path

from twelve.logs.filters import LogFilter
from twelve.logs.journal import INDEX_EVERY, Journal
from twelve.logs.line import LogLine

TIME = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


def lines(start: int, count: int, process: str = "web.1", width: int = 0) -> list[LogLine]:
    pad = "x" * width
    return [LogLine(TIME, "app", process, f"line {i}{pad}") for i in range(start, start + count)]


def numbers(found: list[tuple[int, LogLine]]) -> list[int]:
    return [int(line.message.split()[1].rstrip("x")) for _, line in found]


def line_size(number: int, width: int = 0) -> int:
    return len(lines(number, 1, width=width)[0].format()) + 1


def test_lines_are_numbered_from_one_and_read_back_in_order(tmp_path: Path) -> None:
    journal = Journal(tmp_path, 1 << 20, 3)
    assert journal.append(lines(0, 5)) == 1
    assert journal.append(lines(5, 5)) == 6
    found = journal.read_after(0)
    assert [cursor for cursor, _ in found] == list(range(1, 11))
    assert numbers(found) == list(range(10))
    assert (tmp_path / "app.log").read_text().splitlines()[0] == lines(0, 1)[0].format()


def test_rotation_keeps_each_file_under_the_bound_and_at_most_n_files(tmp_path: Path) -> None:
    size = line_size(100)
    journal = Journal(tmp_path, max_bytes=size * 10, files=3)
    journal.append(lines(100, 25))  # fills app.log.1 and .2 (10 each); 5 in app.log
    journal.append(lines(125, 20))  # rotates twice more: the first 20 lines are gone
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "app.log",
        "app.log.1",
        "app.log.1.idx",
        "app.log.2",
        "app.log.2.idx",
        "app.log.idx",
    ]
    assert all(
        p.stat().st_size <= size * 10 for p in tmp_path.glob("app.log*") if p.suffix != ".idx"
    )
    assert journal.first_cursor == 21
    assert numbers(journal.read_after(0)) == list(range(120, 145))
    assert journal.missing_after(0) == 20
    assert journal.missing_after(20) == 0


def test_a_rotation_boundary_is_exact_a_full_file_then_the_next_line_rotates(
    tmp_path: Path,
) -> None:
    size = line_size(100)
    journal = Journal(tmp_path, max_bytes=size * 4, files=2)
    journal.append(lines(100, 4))
    assert not (tmp_path / "app.log.1").exists()
    assert (tmp_path / "app.log").stat().st_size == size * 4
    journal.append(lines(104, 1))
    assert (tmp_path / "app.log.1").stat().st_size == size * 4
    assert (tmp_path / "app.log").stat().st_size == size
    assert [c for c, _ in journal.read_after(3)] == [4, 5]


def test_cursors_continue_after_reopening_and_after_rotation(tmp_path: Path) -> None:
    size = line_size(100)
    first = Journal(tmp_path, size * 10, 3)
    first.append(lines(100, 15))
    first.close()
    second = Journal(tmp_path, size * 10, 3)
    assert second.next_cursor == 16
    assert second.append(lines(115, 10)) == 16
    assert numbers(second.read_after(14, limit=3)) == [114, 115, 116]
    assert second.read_last(1)[0][0] == 25


def test_read_last_returns_the_newest_matching_lines_across_files(tmp_path: Path) -> None:
    journal = Journal(tmp_path, line_size(100) * 10, 5)
    for i in range(100, 140):
        journal.append(lines(i, 1, process="web.1" if i % 2 else "worker.1"))
    assert numbers(journal.read_last(3)) == [137, 138, 139]
    workers = journal.read_last(12, LogFilter(ps="worker"))
    assert numbers(workers) == list(range(116, 140, 2))
    assert [c for c, _ in workers] == list(range(17, 41, 2))


def test_reading_the_end_never_needs_the_start_of_a_big_file(tmp_path: Path) -> None:
    """The beginning of the file is overwritten with junk: only the index and the end are used."""
    journal = Journal(tmp_path, 64 << 20, 2)
    journal.append(lines(0, 60_000, width=60))  # about 6 MB, about 90 index records
    assert (tmp_path / "app.log.idx").stat().st_size > 16 * 50
    with (tmp_path / "app.log").open("r+b") as f:
        f.write(b"\0" * (4 * INDEX_EVERY))
    assert numbers(journal.read_last(100)) == list(range(59_900, 60_000))
    assert numbers(journal.read_after(50_000, limit=3)) == [50_000, 50_001, 50_002]


def test_a_torn_last_line_from_a_crash_is_cut_off_on_open(tmp_path: Path) -> None:
    journal = Journal(tmp_path, 1 << 20, 2)
    journal.append(lines(0, 3))
    journal.close()
    with (tmp_path / "app.log").open("ab") as f:
        f.write(b"2026-11-28T12:00:00.000000+00:00 app[web.1]: half a li")
    reopened = Journal(tmp_path, 1 << 20, 2)
    assert reopened.next_cursor == 4
    reopened.append(lines(3, 1))
    assert numbers(reopened.read_after(0)) == [0, 1, 2, 3]


def test_a_crash_in_the_middle_of_a_rotation_is_finished_on_open(tmp_path: Path) -> None:
    size = line_size(100)
    journal = Journal(tmp_path, size * 5, 3)
    journal.append(lines(100, 12))  # app.log.2: 1-5, app.log.1: 6-10, app.log: 11-12
    journal.close()
    # The next rotation got as far as moving app.log's index, not app.log itself.
    (tmp_path / "app.log.2").unlink()
    (tmp_path / "app.log.2.idx").unlink()
    os.replace(tmp_path / "app.log.1.idx", tmp_path / "app.log.2.idx")
    os.replace(tmp_path / "app.log.1", tmp_path / "app.log.2")
    os.replace(tmp_path / "app.log.idx", tmp_path / "app.log.1.idx")
    reopened = Journal(tmp_path, size * 5, 3)
    assert reopened.next_cursor == 13
    assert [c for c, _ in reopened.read_after(0)] == list(range(6, 13))
    assert reopened.append(lines(112, 1)) == 13


def test_a_lost_index_is_rebuilt_from_the_older_file(tmp_path: Path) -> None:
    size = line_size(100)
    journal = Journal(tmp_path, size * 5, 3)
    journal.append(lines(100, 8))
    journal.close()
    (tmp_path / "app.log.idx").unlink()
    reopened = Journal(tmp_path, size * 5, 3)
    assert reopened.next_cursor == 9
    assert [c for c, _ in reopened.read_after(5)] == [6, 7, 8]


def test_a_single_line_larger_than_the_bound_still_gets_written(tmp_path: Path) -> None:
    journal = Journal(tmp_path, 100, 2)
    journal.append(lines(0, 1, width=500) + lines(1, 1))
    assert numbers(journal.read_after(0)) == [0, 1]


def test_remove_deletes_every_file_of_the_app(tmp_path: Path) -> None:
    directory = tmp_path / "shop"
    journal = Journal(directory, line_size(100) * 2, 3)
    journal.append(lines(100, 7))
    journal.remove()
    assert not directory.exists()
    assert Journal(directory, 1000, 3).next_cursor == 1
