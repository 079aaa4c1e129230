"""Column-wise DynamicTable building and reading (add_row is too slow for 10^5 rows)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hdmf.common import DynamicTable, VectorData, VectorIndex

Column = tuple[str, object, str]  # name, values, description


def _values(values: object) -> object:
    if isinstance(values, np.ndarray):
        return values
    items = list(values)  # type: ignore[call-overload]
    if items and isinstance(items[0], str):
        return items
    return np.asarray(items)


def build_columns(
    columns: Sequence[Column], ragged: Sequence[tuple[str, Sequence, str]] = ()
) -> list[VectorData]:
    """VectorData for plain columns; VectorData + VectorIndex for ragged ones (float, or int
    for a column whose name says it holds indices: "electrode")."""
    out: list[VectorData] = [
        VectorData(name=name, data=_values(values), description=desc)
        for name, values, desc in columns
    ]
    for name, rows, desc in ragged:
        dtype = "i8" if name == "electrode" else "f8"
        flat = np.concatenate([np.asarray(r, dtype=dtype) for r in rows]) if rows else []
        ends = np.cumsum([len(r) for r in rows]).astype("i8")
        data = VectorData(name=name, data=np.asarray(flat), description=desc)
        out += [data, VectorIndex(name=f"{name}_index", data=ends, target=data)]
    return out


def make_table(
    name: str,
    description: str,
    columns: Sequence[Column],
    ragged: Sequence[tuple[str, Sequence, str]] = (),
    cls: type = DynamicTable,
) -> DynamicTable:
    """A table built from whole columns at once."""
    vectors = build_columns(columns, ragged)
    n_rows = len(columns[0][1]) if columns else len(ragged[0][1])  # type: ignore[arg-type]
    return cls(
        name=name,
        description=description,
        columns=vectors,
        id=np.arange(n_rows),
    )


def column(table: DynamicTable | None, name: str, dtype: str | None = None) -> np.ndarray | list:
    """One column read fully (strings as a list of str); empty when the table is missing."""
    if table is None or name not in table.colnames:
        return np.zeros(0, dtype=dtype or "f8") if dtype != "str" else []
    target = table[name]
    if isinstance(target, VectorIndex):  # ragged: a list of arrays, read in two reads
        ends = np.asarray(target.data[:], dtype=np.int64)
        flat = np.asarray(target.target.data[:])
        return np.split(flat, ends[:-1]) if ends.size else []
    values = target.data[:]
    if dtype == "str":
        return [v.decode() if isinstance(v, bytes) else str(v) for v in values]
    return np.asarray(values, dtype=dtype) if dtype else np.asarray(values)
