"""The dataset view's object table as pure functions: filter, sort, page.

Why pure and paged: a split may hold 10,000 objects; each interaction must answer in well
under 300 ms and the browser must only ever receive the rows it shows. The rows come from a
prediction cache (`eoras_core.report.object_rows`) once, as numpy columns; every filter or
sort is a vectorised pass over them, and `page` returns one page of plain rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

OCCLUSION_BINS = {"none (< 0.05)": (0.0, 0.05), "light (0.05-0.3)": (0.05, 0.3), "medium (0.3-0.6)": (0.3, 0.6),
                  "heavy (>= 0.6)": (0.6, 1.01)}
SIZE_BINS = {"small (< 32²)": (0, 32 ** 2), "medium (32²-96²)": (32 ** 2, 96 ** 2), "large (>= 96²)": (96 ** 2, np.inf)}
COLUMNS = ("video", "object", "shape", "frames", "occlusion", "size", "miou_full_clean", "miou_occ_clean",
           "miou_full", "miou_occ", "worst_frame")
# With a second checkpoint (B) to compare: B's clean IoUs and the change B - A.
COMPARE_COLUMNS = ("miou_full_clean_b", "miou_occ_clean_b", "delta_full", "delta_occ")
NUMERIC = ("object", "frames", "occlusion", "size", "miou_full_clean", "miou_occ_clean", "miou_full", "miou_occ",
           "worst_frame", *COMPARE_COLUMNS)
INTEGER = ("object", "frames", "worst_frame")


@dataclass
class ObjectTable:
    """Column arrays of every object (numbers as float64 with NaN for undefined)."""

    columns: dict[str, np.ndarray]

    @property
    def names(self) -> tuple[str, ...]:
        """The columns shown, in order (the compare columns when the rows have them)."""
        if not all(c in self.columns for c in COMPARE_COLUMNS):
            return COLUMNS
        at = COLUMNS.index("miou_occ_clean") + 1        # B and the change right after A's clean IoUs
        return (*COLUMNS[:at], *COMPARE_COLUMNS, *COLUMNS[at:])

    @classmethod
    def from_rows(cls, rows: Sequence[dict[str, Any]]) -> "ObjectTable":
        cols = {}
        compare = bool(rows) and all(c in rows[0] for c in COMPARE_COLUMNS)
        for c in (*COLUMNS, *(COMPARE_COLUMNS if compare else ())):
            values = [r.get(c) for r in rows]
            if c in NUMERIC:
                cols[c] = np.array([np.nan if v is None else float(v) for v in values], np.float64)
            else:
                cols[c] = np.array(["" if v is None else str(v) for v in values], dtype=object)
        return cls(cols)

    def __len__(self) -> int:
        return len(self.columns["video"])


@dataclass(frozen=True)
class Query:
    """What the table shows: filters, then a sort, then one page."""

    occlusion: tuple[str, ...] = ()          # names from OCCLUSION_BINS; empty = all
    size: tuple[str, ...] = ()               # names from SIZE_BINS
    shapes: tuple[str, ...] = ()
    videos: tuple[str, ...] = ()
    iou_full: tuple[float, float] = (0.0, 1.0)
    iou_occ: tuple[float, float] = (0.0, 1.0)   # objects without hidden frames pass
    sort_by: str = "miou_full_clean"
    descending: bool = False
    page: int = 0
    page_size: int = 50
    rows: tuple[int, ...] | None = None      # only these rows (the objects behind a clicked plot point)


def _in_bins(values: np.ndarray, names: Sequence[str], bins: dict[str, tuple[float, float]]) -> np.ndarray:
    if not names:
        return np.ones(len(values), bool)
    keep = np.zeros(len(values), bool)
    for name in names:
        lo, hi = bins[name]
        keep |= (values >= lo) & (values < hi)
    return keep


def select(table: ObjectTable, q: Query) -> np.ndarray:
    """Indices of the rows that pass the filters, in the query's order."""
    c = table.columns
    keep = _in_bins(np.nan_to_num(c["occlusion"], nan=0.0), q.occlusion, OCCLUSION_BINS)
    keep &= _in_bins(np.nan_to_num(c["size"], nan=0.0), q.size, SIZE_BINS)
    if q.shapes:
        keep &= np.isin(c["shape"], list(q.shapes))
    if q.videos:
        keep &= np.isin(c["video"], list(q.videos))
    full = c["miou_full_clean"]
    keep &= (full >= q.iou_full[0]) & (full <= q.iou_full[1])
    occ = c["miou_occ_clean"]
    keep &= np.isnan(occ) | ((occ >= q.iou_occ[0]) & (occ <= q.iou_occ[1]))
    if q.rows is not None:
        only = np.zeros(len(keep), bool)
        picked = np.asarray([i for i in q.rows if 0 <= i < len(keep)], np.int64)
        only[picked] = True
        keep &= only
    idx = np.flatnonzero(keep)
    col = c[q.sort_by if q.sort_by in c else "miou_full_clean"][idx]
    if q.sort_by in NUMERIC:
        key = np.where(np.isnan(col), np.inf if not q.descending else -np.inf, col)   # undefined last
        order = np.argsort(-key if q.descending else key, kind="stable")
    else:
        order = np.argsort(col.astype(str), kind="stable")
        order = order[::-1] if q.descending else order
    return idx[order]


@dataclass(frozen=True)
class Page:
    rows: list[list[Any]]      # display values, one list per row in table.names order
    indices: np.ndarray        # (len(rows),) the table rows shown
    total: int                 # rows that pass the filters
    page: int                  # the page shown (clamped to the last one)
    pages: int


def page_of(table: ObjectTable, q: Query) -> Page:
    """One page of the query's rows, as display values (the only rows a browser receives)."""
    idx = select(table, q)
    pages = max(1, -(-len(idx) // q.page_size))
    number = int(np.clip(q.page, 0, pages - 1))
    shown = idx[number * q.page_size:(number + 1) * q.page_size]
    rows = []
    for i in shown:
        row = []
        for c in table.names:
            v = table.columns[c][i]
            if c in NUMERIC:
                v = None if np.isnan(v) else (int(v) if c in INTEGER else round(float(v), 3))
            row.append(v)
        rows.append(row)
    return Page(rows, shown, len(idx), number, pages)


def page(table: ObjectTable, q: Query) -> tuple[list[list[Any]], int]:
    """(the rows of the query's page, as display values; how many rows pass the filters)."""
    p = page_of(table, q)
    return p.rows, p.total
