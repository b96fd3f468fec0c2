"""Key rotation: every stored secret rewritten with the cipher's current key."""

from __future__ import annotations

from twelve.store.database import Database

# (table, the columns that find a row, the encrypted column)
SECRET_COLUMNS = (
    ("config", ("app", "key"), "value"),
    ("releases", ("app", "version"), "config"),
    ("addons", ("name",), "url"),
    ("drains", ("rowid",), "url"),
)


def reencrypt(database: Database) -> int:
    """Rewrite every stored secret with the current key (rotation, or first encryption)."""
    count = 0
    with database.transaction() as db:
        for table, key_cols, col in SECRET_COLUMNS:
            rows = db.execute(f"SELECT {', '.join(key_cols)}, {col} FROM {table}").fetchall()  # noqa: S608
            for row in rows:
                stored = row[col]
                if not stored:
                    continue
                rotated = database.cipher.rotate(stored)
                if rotated != stored:
                    where = " AND ".join(f"{k} = ?" for k in key_cols)
                    db.execute(
                        f"UPDATE {table} SET {col} = ? WHERE {where}",  # noqa: S608
                        (rotated, *(row[k] for k in key_cols)),
                    )
                    count += 1
    if count:
        database.execute("VACUUM")  # freed pages would still hold the old bytes
    return count
