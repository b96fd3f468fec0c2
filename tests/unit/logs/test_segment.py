"""Reading after a cursor starts at the nearest index record, never at the start of the file."""

from twelve.logs.segment import Segment


def test_seek_point_is_the_last_record_at_or_before_the_cursor() -> None:
    segment = Segment(2, [(100, 0), (150, 65_600), (210, 131_200)], end=240, size=150_000)
    assert segment.start == 100
    assert segment.seek_point(100) == (100, 0)
    assert segment.seek_point(149) == (100, 0)
    assert segment.seek_point(150) == (150, 65_600)
    assert segment.seek_point(239) == (210, 131_200)
    assert segment.seek_point(5) == (100, 0)  # before the segment: its start


def test_records_added_while_writing_are_found() -> None:
    segment = Segment(0, [(1, 0)], end=1, size=0)
    segment.add_entries([(900, 65_536)])
    assert segment.seek_point(1000) == (900, 65_536)
