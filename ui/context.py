"""What every panel's handlers share: the session store, the shared predictor, and calm errors.

`StudioContext.session(request)` is the one locked path to a session. `calm(outputs)` makes
a handler's mistakes into a toast that leaves every output as it was.
"""
from __future__ import annotations

import functools
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import gradio as gr

from eoras_core.budget import Budget, BudgetError
from eoras_core.data.movi import DatasetError
from eoras_core.project_format import ProjectError
from eoras_core.shared_predictor import SharedPredictor
from eoras_core.media import VideoError

from .actions import UserError
from .projects import ProjectStore, save
from .session import Session, SessionStore

log = logging.getLogger(__name__)
USER_ERRORS = (UserError, VideoError, DatasetError, ProjectError, BudgetError)
UNEXPECTED = "Something went wrong on the server (it was logged). Nothing was lost: try again."
FAST = dict(show_progress="hidden", api_visibility="private")


@dataclass
class StudioContext:
    store: SessionStore
    engine: SharedPredictor | None
    demos: dict[str, Path] = field(default_factory=dict)
    runner: Callable | None = None   # model call in another process (ZeroGPU): frames, K, tracks -> results
    projects: ProjectStore | None = None   # None: nothing is kept on disk
    dataset: Any = None                    # ui.dataset.Dataset given at start (python app.py --data)
    datasets_local: bool = False           # the page may open splits by path (never when public)
    budget: Budget = field(default_factory=Budget)   # limits of one request (uploads and the API)

    @property
    def config(self):
        return self.engine.config if self.engine is not None else None

    @contextmanager
    def session(self, request: gr.Request | None, opening: bool = False) -> Iterator[Session]:
        """The session of this browser tab, locked; on the way out, what changed is saved to
        its project folder before the handler's answer reaches the page."""
        sid = sid_of(request)
        with self.store.use(sid) as s:
            if not opening:
                self._check_holder(s, sid)
            try:
                yield s
            finally:
                save(s)

    def _check_holder(self, s: Session, sid: str) -> None:
        """A tab whose project was opened elsewhere stops editing it, and is told so once."""
        link = s.project
        if link is None or self.projects is None or self.projects.holds(link.folder, sid):
            return
        s.project = None
        s.clip = None
        s.changed()
        raise UserError(f"{link.folder.name} was opened in another tab or browser, so this tab stopped editing it. "
                        "Everything applied here was saved; reopen it from Recent projects to work here.")


def sid_of(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or "anonymous"



def calm(outputs: Iterable[Any]) -> Callable[[Callable], Callable]:
    """Handler decorator for named outputs: the handler returns {component: value} for what
    changes, and every other output is skipped (left as it was). User mistakes become a
    warning toast, bugs are logged with their traceback and summarised; either way no
    output changes."""
    outs = list(outputs)

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def handler(*args: Any, **kwargs: Any) -> Any:
            try:
                out = fn(*args, **kwargs) or {}
                return {**{c: gr.skip() for c in outs}, **out}
            except USER_ERRORS as exc:
                gr.Warning(str(exc))
            except Exception:
                log.exception("unexpected error in %s", fn.__name__)
                gr.Warning(UNEXPECTED)
            return {c: gr.skip() for c in outs}

        return handler

    return wrap
