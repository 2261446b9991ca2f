"""A condition "column among these values" for the set-based reads of a bank import.

On SQLite it is ``IN (?, ?, …)``. On PostgreSQL it is ``= ANY(%s)`` with one array
parameter: psycopg converts a query of more than 50 parameters anew on every execution
(it caches only short ones), and an import's reads of 500 keys at a time paid for that
in every chunk; with one parameter the query is converted once, and PostgreSQL still
reads it by the column's index.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

__all__ = ["among"]


def among(session: Session, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """``column`` is one of ``values`` (a non-empty collection), for the session's
    backend."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))
