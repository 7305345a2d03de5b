"""Undo and redo for everything a person changes: objects, keyframes, marks and mask edits.

Each undoable action records a snapshot of the labelling state just before it changes
anything; undo swaps the current state with the newest snapshot (and keeps the current one
for redo). Snapshots are small: objects are a few boxes and sets, and mask edits are lists
of immutable RLE revisions, so copying the lists shares the masks themselves. Model results
are not part of a snapshot: they stay valid for the boxes they were made from (see
LabelledObject.signature), so undoing a box change brings its old result back into use.
"""
from __future__ import annotations

import copy
import functools
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

if TYPE_CHECKING:
    from .session import Session

LIMIT = 200  # steps kept; the oldest go first


@dataclass
class Snapshot:
    label: str
    objects: dict
    revisions: dict
    selected: int | None
    next_id: int


@dataclass
class History:
    undo_stack: list[Snapshot] = field(default_factory=list)
    redo_stack: list[Snapshot] = field(default_factory=list)

    def clear(self) -> None:
        self.undo_stack.clear()
        self.redo_stack.clear()


def snapshot(s: Session, label: str) -> Snapshot:
    return Snapshot(label, copy.deepcopy(s.objects), s.edits.state(), s.selected, s.next_id)


def _restore(s: Session, snap: Snapshot) -> None:
    s.objects = copy.deepcopy(snap.objects)
    s.edits.restore(snap.revisions)
    s.selected, s.next_id = snap.selected, snap.next_id
    for obj_id in [i for i in s.tracks if i not in s.objects]:
        del s.tracks[obj_id]
    for obj_id in [i for i in s.previews if i not in s.objects]:
        del s.previews[obj_id]
    for obj_id in s.objects:
        s.boxes_changed(obj_id)


def undoable_action(label: str) -> Callable[[Callable], Callable]:
    """Decorator for actions fn(s, ...): each successful call that changes something is one undo step."""

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def action(s: Session, *args: Any, **kwargs: Any) -> Any:
            with undoable(s, label):
                return fn(s, *args, **kwargs)

        return action

    return wrap


@contextmanager
def undoable(s: Session, label: str) -> Iterator[None]:
    """Record the state before the block; kept only if the block finishes and changed something."""
    before = snapshot(s, label)
    revision = (s.revision, s.edits.revision)
    yield
    if (s.revision, s.edits.revision) != revision:
        s.history.undo_stack.append(before)
        del s.history.undo_stack[:-LIMIT]
        s.history.redo_stack.clear()


def _step(s: Session, source: list[Snapshot], target: list[Snapshot], verb: str, nothing: str) -> str:
    """Move one snapshot from `source` to the session, keeping the current state on `target`."""
    if not source:
        return nothing
    snap = source.pop()
    target.append(snapshot(s, snap.label))
    _restore(s, snap)
    return f"{verb}: {snap.label}."


def undo(s: Session) -> str:
    return _step(s, s.history.undo_stack, s.history.redo_stack, "Undid", "Nothing to undo.")


def redo(s: Session) -> str:
    return _step(s, s.history.redo_stack, s.history.undo_stack, "Redid", "Nothing to redo.")


def describe(s: Session) -> dict[str, Any]:
    """What undo and redo would do now (for button tooltips and tests)."""
    return {"undo": s.history.undo_stack[-1].label if s.history.undo_stack else None,
            "redo": s.history.redo_stack[-1].label if s.history.redo_stack else None}
