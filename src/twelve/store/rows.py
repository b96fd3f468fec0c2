"""The one way a table's row becomes a record: columns by field name, JSON and secret columns
decoded, flags made booleans."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from twelve.store.secrets import Cipher

T = TypeVar("T")


@dataclass(frozen=True)
class RowMapping(Generic[T]):
    """How the rows of one table (or join) map onto the frozen dataclass ``kind``.

    A field takes the column of its own name unless ``columns`` names another; a field the row
    lacks keeps its default.
    """

    kind: type[T]
    columns: Mapping[str, str] = field(default_factory=dict)
    json: frozenset[str] = frozenset()  # stored as JSON text
    secret: frozenset[str] = frozenset()  # encrypted with the store's cipher; '' stays ''
    flags: frozenset[str] = frozenset()  # stored as 0 or 1

    def read(self, row: sqlite3.Row, cipher: Cipher | None = None) -> T:
        present = set(row.keys())
        values: dict[str, Any] = {}
        for f in dataclasses.fields(self.kind):  # type: ignore[arg-type]
            column = self.columns.get(f.name, f.name)
            if column not in present:
                continue
            value = row[column]
            if f.name in self.secret:
                assert cipher is not None, f"{f.name} needs the store's cipher"
                value = cipher.decrypt(value) if value else ""
            if f.name in self.json:
                value = json.loads(value)
            if f.name in self.flags:
                value = bool(value)
            values[f.name] = value
        return self.kind(**values)
