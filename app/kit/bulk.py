"""Taking a table's secondary indexes and a foreign key off for a bulk write, and putting them back.

Appending a million rows to a bare heap and building each index once (a sort) costs a fraction of
maintaining the indexes and checking the foreign key row by row. The DDL runs in the caller's
transaction, so a rollback restores the indexes and the key with the rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKeyConstraint, Table
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex


def foreign_key(table: Table, referred: str) -> ForeignKeyConstraint:
    """The table's foreign key to `referred`."""
    (fk,) = (c for c in table.foreign_key_constraints if c.referred_table.name == referred)
    return fk


def indexes_off(conn: Any, table: Table, fk: ForeignKeyConstraint | None) -> None:
    """Drop the foreign key (when given) and every index declared on the table (not the primary
    key or unique constraints)."""
    if fk is not None:
        conn.execute(DropConstraint(fk))
    for index in _indexes(table):
        conn.execute(DropIndex(index))


def indexes_on(conn: Any, table: Table, fk: ForeignKeyConstraint | None) -> None:
    """Build the table's indexes again (one sort each) and re-add the foreign key (one join)."""
    for index in _indexes(table):
        conn.execute(CreateIndex(index))
    if fk is not None:
        conn.execute(AddConstraint(fk))


def _indexes(table: Table) -> list[Any]:
    return sorted(table.indexes, key=lambda i: i.name or "")
