"""The audit trail's hash chain names the first entry that was changed, removed or reordered."""

from __future__ import annotations

from dataclasses import replace

from twelve.access.chain import GENESIS, Entry, details_text, first_broken, sealed


def chain(count: int) -> list[Entry]:
    entries: list[Entry] = []
    prev = GENESIS
    for seq in range(1, count + 1):
        entry = sealed(
            Entry(seq, 1000.0 + seq, "alice", "10.0.0.1", "shop", "config", {"set": [f"K{seq}"]}),
            prev,
        )
        entries.append(entry)
        prev = entry.hash
    return entries


def rows(entries: list[Entry]) -> list[tuple[Entry, str]]:
    return [(e, details_text(e.details)) for e in entries]


def test_an_untouched_chain_verifies() -> None:
    assert first_broken(rows(chain(5))) is None
    assert first_broken([]) is None


def test_an_edited_entry_is_named() -> None:
    entries = chain(5)
    entries[2] = replace(entries[2], actor="mallory")
    broken = first_broken(rows(entries))
    assert broken is not None and broken.seq == 3
    assert "content" in broken.reason


def test_an_edit_that_recomputes_its_own_hash_breaks_the_next_link() -> None:
    entries = chain(5)
    forged = replace(entries[1], result="refused")
    entries[1] = sealed(forged, forged.prev_hash)
    broken = first_broken(rows(entries))
    assert broken is not None and broken.seq == 3
    assert "link" in broken.reason


def test_a_removed_entry_is_named() -> None:
    entries = chain(5)
    del entries[3]
    broken = first_broken(rows(entries))
    assert broken is not None and broken.seq == 5
    assert "entry 4 is missing" in broken.reason


def test_details_text_edited_to_the_same_value_is_still_caught() -> None:
    entries = chain(3)
    stored = rows(entries)
    stored[0] = (stored[0][0], '{"set": ["K1"]}')  # same JSON value, other bytes
    broken = first_broken(stored)
    assert broken is not None and broken.seq == 1
