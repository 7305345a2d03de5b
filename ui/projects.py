"""Project folders: where each clip's labels live, who may write them, and saving every change.

One folder per opened file, `<safe stem>-<first 8 hex of its sha256>`, under the projects
root (or, when the studio is public, under the browser that made it). A session links to
its folder with a ProjectLink, and `ProjectLink.sync` writes what changed since the last
call: mask files first, then project.json (atomically), then removals. The store hands each
folder to one session at a time: opening it in a second tab moves it there, and the first
tab's next action is refused (everything it applied was already on disk).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import gradio as gr

from .annotations import Revision
from eoras_core.annotate import file_sha256 as bytes_sha256
from eoras_core.project_format import (PROJECT_FILE, ProjectError, SavedProject, atomic_write, human_file, model_file,
                                       project_folder_name, read_json)

from .project_file import SourceMap, human_doc, model_doc, project_doc, read_project, restore
from .session import Session

try:
    import fcntl
except ImportError:  # Windows: one studio per projects folder is then the user's care
    fcntl = None  # type: ignore[assignment]

APP_NAME = "EoRaS Studio"
log = logging.getLogger(__name__)


def default_root() -> Path:
    """The user's data folder for EoRaS Studio projects (platformdirs)."""
    import platformdirs

    return platformdirs.user_data_path(APP_NAME, appauthor=False) / "projects"


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, or of a folder's files (relative names and bytes, in name order)."""
    if not path.is_dir():
        return bytes_sha256(path)
    h = hashlib.sha256()
    for p in sorted(q for q in path.rglob("*") if q.is_file()):
        h.update(p.relative_to(path).as_posix().encode() + b"\0")
        h.update(bytes.fromhex(bytes_sha256(p)))
    return h.hexdigest()


@dataclass(frozen=True)
class ProjectPlan:
    """What opening a file means for its project: the folder, and what is there already."""

    folder: Path
    sha256: str
    name: str
    saved: SavedProject | None     # None: a new project

    @property
    def source_path(self) -> Path | None:
        return self.folder / self.saved.source_file if self.saved is not None else None


@dataclass
class RecentProject:
    folder: str
    label: str
    modified: float


class ProjectStore:
    """The projects root, folder naming, the recent list, and which session holds which folder."""

    def __init__(self, root: Path, public: bool = False) -> None:
        self.root = Path(root)
        self.public = public
        self._holder: dict[Path, str] = {}
        self._locks: dict[Path, int] = {}
        self._write_locks: dict[Path, threading.Lock] = {}
        self._lock = threading.Lock()

    # -- where --------------------------------------------------------------------------------
    def home(self, owner: str | None) -> Path:
        """The folder of this user's projects: the root, or the browser's own when public."""
        if not self.public:
            return self.root
        if not owner or len(owner) < 16:
            raise ProjectError("This browser has no project key yet (it is kept in the browser's local storage): "
                               "reload the page and open the clip again.")
        return self.root / "browsers" / hashlib.sha256(owner.encode()).hexdigest()[:16]

    def browser_secret(self) -> str:
        """A stable secret for the browser-side key store, so keys survive a server restart."""
        path = self.root / ".browser-secret"
        if not path.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            atomic_write(path, secrets.token_hex(16))
        return path.read_text().strip()

    def plan(self, source: Path, owner: str | None, sha256: str | None = None) -> ProjectPlan:
        """The project for an opened file; an existing project.json is read and checked now, so
        a damaged or foreign one is refused before anything changes."""
        home = self.home(owner)
        sha = sha256 or file_sha256(source)
        name = source.name
        folder = home / project_folder_name(name, sha)
        saved = read_project(folder, sha) if (folder / PROJECT_FILE).exists() else None
        return ProjectPlan(folder, sha, name, saved)

    def plan_recent(self, folder_name: str, owner: str | None) -> ProjectPlan:
        """The plan for a folder chosen from the recent list (its source copy is opened)."""
        home = self.home(owner)
        folder = home / folder_name
        if "/" in folder_name or folder_name.startswith(".") or not (folder / PROJECT_FILE).exists():
            raise ProjectError(f"There is no project {folder_name!r} any more; open the clip's file instead.")
        saved = read_project(folder, None)
        sha = saved.doc["video"]["sha256"]
        if not (folder / saved.source_file).exists():
            raise ProjectError(f"{folder_name}: its copy of the clip ({saved.source_file}) is missing; "
                               "open the clip's file instead (its labels come back).")
        return ProjectPlan(folder, sha, saved.doc["video"].get("name") or folder_name, saved)

    def keep_source(self, plan: ProjectPlan, source: Path) -> str:
        """Copy the opened file into a new project folder (once); returns its path in the folder."""
        if plan.saved is not None:
            return plan.saved.source_file
        rel = f"source/{source.name}"
        target = plan.folder / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.partial")
            if source.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
                shutil.copytree(source, tmp)
            else:
                shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        return rel

    def recent(self, owner: str | None, limit: int = 20) -> list[RecentProject]:
        """The most recently changed projects of this user, newest first."""
        try:
            home = self.home(owner)
        except ProjectError:
            return []
        found = []
        for pj in home.glob(f"*/{PROJECT_FILE}"):
            try:
                doc = read_json(pj, pj.parent.name)
                objects = doc.get("objects", [])
                reviewed = sum(len(o.get("reviewed", [])) for o in objects)
                modified = pj.stat().st_mtime
                when = time.strftime("%Y-%m-%d %H:%M", time.localtime(modified))
                label = f"{doc['video']['name']} · {len(objects)} object(s) · {reviewed} reviewed · {when}"
            except (ProjectError, OSError, KeyError, TypeError, AttributeError):
                continue  # damaged ones are reported when opened
            found.append(RecentProject(pj.parent.name, label, modified))
        return sorted(found, key=lambda r: -r.modified)[:limit]

    # -- who holds a folder --------------------------------------------------------------------
    def claim(self, folder: Path, sid: str) -> None:
        """Give the folder to this session (taking it from another tab of this studio, and
        freeing any other folder the session held); refuse when another studio process on
        this machine has it open."""
        with self._lock:
            if folder not in self._locks:
                folder.mkdir(parents=True, exist_ok=True)
                self._locks[folder] = self._lock_folder(folder)
            for other in [f for f, holder in self._holder.items() if holder == sid and f != folder]:
                self._free(other)
            self._holder[folder] = sid

    def take(self, plan: ProjectPlan, sid: str) -> ProjectPlan:
        """Claim the plan's folder and read it again: a tab that had it may have saved since the
        plan was read. Waits for a write in progress, and later writes of that tab are refused."""
        with self.writing(plan.folder):
            self.claim(plan.folder, sid)
            if not (plan.folder / PROJECT_FILE).exists():
                return plan
            fresh = read_project(plan.folder, plan.sha256)
            if plan.saved is None or fresh.caps != plan.saved.caps:
                raise ProjectError(f"{plan.folder.name} changed while it was opening (in another tab?); open it again.")
            return ProjectPlan(plan.folder, plan.sha256, plan.name, fresh)

    @contextmanager
    def writing(self, folder: Path) -> Iterator[None]:
        """One writer per folder at a time (claiming waits for a write in progress)."""
        with self._lock:
            lock = self._write_locks.setdefault(folder, threading.Lock())
        with lock:
            yield

    def holds(self, folder: Path, sid: str) -> bool:
        with self._lock:
            return self._holder.get(folder) == sid

    def release(self, sid: str) -> None:
        """A session ended: its folders are free for other processes again."""
        with self._lock:
            for folder in [f for f, holder in self._holder.items() if holder == sid]:
                self._free(folder)

    def _free(self, folder: Path) -> None:
        del self._holder[folder]
        fd = self._locks.pop(folder, None)
        if fd is not None:
            os.close(fd)

    @staticmethod
    def _lock_folder(folder: Path) -> int:
        fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is None:
            return fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            other = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            raise ProjectError(f"{folder.name} is open in another EoRaS Studio on this machine"
                               f"{f' (process {other})' if other else ''}; close it there first.") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        return fd


@dataclass
class ProjectLink:
    """A session's tie to its folder, and what was last written there."""

    folder: Path
    sha256: str
    source_file: str
    map: SourceMap
    store: ProjectStore
    sid: str
    saved_at: float = 0.0
    error: str = ""
    _mark: tuple = ()
    _doc: str = ""
    _human: dict[tuple[int, int], dict[str, Revision]] = field(default_factory=dict)
    _model: dict[int, object] = field(default_factory=dict)

    def adopt(self, s: Session) -> None:
        """What a session restored from this folder is already on disk: nothing to write."""
        self._human = _human_now(s)
        self._model = dict(s.results)
        pj = self.folder / PROJECT_FILE
        self._doc = pj.read_text(encoding="utf-8") if pj.exists() else ""
        self.saved_at = pj.stat().st_mtime if pj.exists() else 0.0

    def sync(self, s: Session) -> bool:
        """Write whatever changed since the last sync; True when something was written.
        Raises ProjectError when another tab has taken the folder meanwhile."""
        mark = (s.revision, s.edits.revision, tuple((i, id(r)) for i, r in s.results.items()))
        if mark == self._mark:
            return False
        with self.store.writing(self.folder):
            if not self.store.holds(self.folder, self.sid):
                raise ProjectError(f"{self.folder.name} is now open in another tab or browser; this change was "
                                   "not saved there. Reopen the project here to go on.")
            return self._write_changes(s, mark)

    def _write_changes(self, s: Session, mark: tuple) -> bool:
        human = _human_now(s)
        wrote = False
        for key, pair in human.items():
            old = self._human.get(key)
            if old is None or any(old.get(k) is not r for k, r in pair.items()) or old.keys() != pair.keys():
                self._write(human_file(key[0], self.map.frame_out(key[1])), human_doc(self.map, key[1], pair))
                wrote = True
        for obj_id, res in s.results.items():
            if self._model.get(obj_id) is not res:
                self._write(model_file(obj_id), model_doc(self.map, s, obj_id))
                wrote = True
        doc = json.dumps(project_doc(s, self.map, self.sha256, self.source_file), indent=1)
        if doc != self._doc:
            atomic_write(self.folder / PROJECT_FILE, doc)
            wrote = True
        for key in set(self._human) - set(human):
            _unlink(self.folder / human_file(key[0], self.map.frame_out(key[1])))
        for obj_id in set(self._model) - set(s.results):
            _unlink(self.folder / model_file(obj_id))
        self._human, self._model, self._doc, self._mark = human, dict(s.results), doc, mark
        self.error = ""
        if wrote:
            self.saved_at = time.time()
        return wrote

    def _write(self, rel: str, doc: dict) -> None:
        path = self.folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(doc, separators=(",", ":")))


def _human_now(s: Session) -> dict[tuple[int, int], dict[str, Revision]]:
    out: dict[tuple[int, int], dict[str, Revision]] = {}
    for (obj_id, frame, kind), rev in s.edits.newest_all().items():
        if obj_id in s.objects:
            out.setdefault((obj_id, frame), {})[kind] = rev
    return out


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def attach(s: Session, plan: ProjectPlan, source_file: str, store: ProjectStore, sid: str) -> ProjectLink:
    """Right after a clip opened in `s` (and `store.take(plan, sid)`): bring back its saved
    project (if any), link the session to the folder and write what is not on disk yet."""
    if s.source is None:
        raise ValueError("the session's clip has no source description")
    m = SourceMap(s.size, s.source)
    link = ProjectLink(plan.folder, plan.sha256, source_file, m, store, sid)
    if plan.saved is not None:
        restore(s, plan.saved, m)
        link.adopt(s)
    s.project = link
    link.sync(s)
    return link


def save(s: Session) -> None:
    """Write the session's changes to its project; a failure is shown once, and retried on the next call."""
    link = s.project
    if link is None:
        return
    try:
        link.sync(s)
    except ProjectError as exc:
        first = not link.error
        link.error = "the project is open in another tab"
        if first:
            gr.Warning(str(exc))
    except OSError as exc:
        first = not link.error
        link.error = f"could not write to {link.folder}: {exc.strerror or exc}"
        log.warning("project not saved: %s", link.error)
        if first:
            gr.Warning(f"Not saved: {link.error}. Your changes are kept here and saved at the next change.")
