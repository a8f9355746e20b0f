"""One running window's session: its lock, its autosave, the work of instances that crashed,
the network to open first and the recent files. No Qt.

Every running instance has its own record in ``<state folder>/sessions``: ``<id>.lock``, held
for as long as the instance runs, and ``<id>.json``, its autosave. A clean exit removes both.
A record whose lock can be taken belongs to an instance that is gone: if it holds unsaved work,
the next start offers it for restore (:meth:`Session.orphans`). A live instance's lock cannot
be taken, so no instance reads, offers, overwrites or deletes another live one's record.

The lock is injected (``lock_factory(path)`` returns an object with ``try_lock()`` and
``unlock()``): the window passes one built on ``QLockFile``; :class:`PidLock` is the same idea
without Qt (the lock file names its process; a lock whose process is gone is stale).
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from explorer.core.spec import ArchitectureSpec, SpecError, atomic_write_text

RECORD_FORMAT = "network-explorer/session"
FIRST_NETWORK = "course-inception"
MAX_RECENT = 8
MAX_RECORD_BYTES = 64 * 2**20


class Lock(Protocol):
    """A lock on a file that dies with its process."""

    def try_lock(self) -> bool:
        """Take the lock now (taking over a stale one); ``False`` if a live process holds it."""

    def unlock(self) -> None:
        """Release the lock (and remove its file)."""


LockFactory = Callable[[Path], Lock]


def sessions_folder(state: Path | None = None) -> Path:
    """``sessions`` in the user's state folder (``~/.local/state/network-explorer``)."""
    from explorer.paths import user_state_dir

    return (state if state is not None else user_state_dir()) / "sessions"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


class PidLock:
    """A lock file holding ``pid`` and host name, created exclusively; stale when it names a
    process of this host that no longer runs (as ``QLockFile`` decides)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._held = False

    def try_lock(self) -> bool:
        for _attempt in range(2):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                if not self._stale():
                    return False
                self.path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(f"{os.getpid()}\n{socket.gethostname()}\n")
            self._held = True
            return True
        return False

    def _stale(self) -> bool:
        try:
            pid, host = (self.path.read_text().splitlines() + ["", ""])[:2]
            pid = int(pid)
        except (OSError, ValueError):
            return False  # being written: treat as held
        return host == socket.gethostname() and not _pid_alive(pid)

    def unlock(self) -> None:
        if self._held:
            self._held = False
            self.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Work:
    """What an autosave holds: the network as it is, where it came from, and its last saved
    state (the file's content, or the preset as it was opened)."""

    spec: ArchitectureSpec
    path: Path | None
    modified: bool
    saved_spec: ArchitectureSpec | None = None
    saved_path: Path | None = None
    time: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec.to_dict(), "path": _text(self.path),
                "modified": self.modified, "time": self.time,
                "saved_spec": self.saved_spec.to_dict() if self.saved_spec else None,
                "saved_path": _text(self.saved_path)}

    @classmethod
    def from_dict(cls, data: Any) -> Work | None:
        """The work in an autosave record, or ``None`` when it holds none or is damaged."""
        if not isinstance(data, dict) or not isinstance(data.get("spec"), dict):
            return None
        try:
            spec = ArchitectureSpec.from_dict(data["spec"])
            saved = data.get("saved_spec")
            saved = ArchitectureSpec.from_dict(saved) if isinstance(saved, dict) else None
        except (SpecError, ValueError, TypeError, KeyError):
            return None
        when = data.get("time")
        return cls(spec, _path(data.get("path")), bool(data.get("modified")), saved,
                   _path(data.get("saved_path")),
                   float(when) if isinstance(when, (int, float)) else 0.0)


def _text(path: Path | None) -> str | None:
    return str(path) if path is not None else None


def _path(value: Any) -> Path | None:
    return Path(value) if isinstance(value, str) and value else None


@dataclass(eq=False)
class Orphan:
    """The record of an instance that is not running any more, locked by this session while
    it decides what to do with it (restore, discard, or keep for the next start)."""

    id: str
    record: dict
    lock: Lock
    folder: Path
    held: list = field(default_factory=list, repr=False)  # the session's held orphans

    @property
    def work(self) -> Work | None:
        """The work it holds (``None`` if it cannot be read, e.g. a block no longer known)."""
        return Work.from_dict(self.record.get("work"))

    @property
    def unsaved(self) -> bool:
        """Whether the record holds changes that were never saved."""
        work = self.record.get("work")
        return isinstance(work, dict) and bool(work.get("modified"))

    @property
    def time(self) -> float:
        work = self.record.get("work")
        when = work.get("time") if isinstance(work, dict) else None
        return float(when) if isinstance(when, (int, float)) else 0.0

    def discard(self) -> None:
        """Delete the record, then release its lock: nobody will offer it again."""
        (self.folder / f"{self.id}.json").unlink(missing_ok=True)
        self.keep()

    def keep(self) -> None:
        """Release the lock and leave the record: the next start offers it again."""
        if self in self.held:
            self.held.remove(self)
            self.lock.unlock()


class Session:
    """This instance's lock and record in ``folder`` (see the module's description).

    ``begin()`` takes the lock and writes the record; ``save(work)`` autosaves; ``end()``
    removes both. Failing writes raise ``OSError``; the caller shows them and keeps the work.
    """

    def __init__(self, folder: Path, lock_factory: LockFactory = PidLock,
                 instance_id: str | None = None) -> None:
        self.folder = Path(folder)
        self.lock_factory = lock_factory
        self.id = instance_id or f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.started = time.time()
        self._lock: Lock | None = None
        self._held: list[Orphan] = []  # orphans locked by this session, not decided yet

    @property
    def record_path(self) -> Path:
        return self.folder / f"{self.id}.json"

    @property
    def active(self) -> bool:
        """Whether this session holds its lock (its autosave protects the work)."""
        return self._lock is not None

    def begin(self) -> None:
        """Take this instance's lock and write its record.

        Raises
        ------
        OSError
            When the folder cannot be written (the message names it).
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        lock = self.lock_factory(self.folder / f"{self.id}.lock")
        if not lock.try_lock():
            raise OSError(f"cannot lock {self.folder / (self.id + '.lock')}")
        self._lock = lock
        try:
            self._write(None)
        except OSError:
            self._lock = None
            lock.unlock()
            raise

    def save(self, work: Work) -> None:
        """Write ``work`` as this instance's autosave (atomically)."""
        if self._lock is None:
            self.begin()
        self._write(work)

    def _write(self, work: Work | None) -> None:
        record = {"format": RECORD_FORMAT, "pid": os.getpid(), "started": self.started,
                  "work": work.to_dict() if work is not None else None}
        atomic_write_text(self.record_path, json.dumps(record) + "\n")

    def end(self) -> None:
        """A clean exit: release the orphans not decided about (the next start offers
        them), remove this instance's record, then its lock."""
        for orphan in list(self._held):
            orphan.keep()
        if self._lock is None:
            return
        self.record_path.unlink(missing_ok=True)
        self._lock.unlock()
        self._lock = None

    def orphans(self) -> list[Orphan]:
        """Records of instances that are gone and left unsaved work, newest first, each
        locked by this session. Gone instances without unsaved work are cleaned up."""
        try:
            names = sorted(os.listdir(self.folder))
        except OSError:
            return []
        ids = {n.rsplit(".", 1)[0] for n in names if n.endswith((".json", ".lock"))}
        found = []
        for other in sorted(ids - {self.id}):
            lock = self.lock_factory(self.folder / f"{other}.lock")
            try:
                if not lock.try_lock():
                    continue  # a live instance: its record is its own
            except OSError:
                continue
            orphan = Orphan(other, _read_record(self.folder / f"{other}.json"), lock,
                            self.folder, self._held)
            self._held.append(orphan)
            if not orphan.unsaved:
                orphan.discard()
                continue
            found.append(orphan)
        return sorted(found, key=lambda o: o.time, reverse=True)


def _read_record(path: Path) -> dict:
    from explorer.files import FileProblem, read_bytes

    try:
        data = json.loads(read_bytes(path, "a session record", max_bytes=MAX_RECORD_BYTES))
    except (FileProblem, ValueError):
        return {}
    return data if isinstance(data, dict) and data.get("format") == RECORD_FORMAT else {}


# --------------------------------------------------------------------------- files


def open_architecture(path: str | os.PathLike) -> ArchitectureSpec:
    """Read and validate the architecture file ``path`` for the window.

    Raises
    ------
    SpecError
        Whose message always names the file: too large (refused before it is read), empty,
        truncated, not JSON, or a block the app does not know, with what would be valid.
    """
    from explorer.core.spec import load_spec, validate

    try:
        spec = load_spec(path)
        validate(spec)
    except SpecError as exc:
        if str(path) in str(exc):
            raise
        named = SpecError(f"{path}: {exc}", block=exc.block, field=exc.field,
                          block_path=exc.block_path)
        named.path = exc.path
        raise named from None
    return spec


# --------------------------------------------------------------------------- start-up


def first_network(path: str | None, last_path: str | None, last_spec: str | None
                  ) -> tuple[ArchitectureSpec, Path | None, str | None]:
    """The network to open first: ``(spec, its file or None, problem opening path)``.

    The file named on the command line; else the last session's file; else its last saved
    network (``last_spec``, JSON); else the course's first network. A file that cannot be
    read gives the problem in words and the next choice.
    """
    from explorer.core.presets import preset_spec
    from explorer.core.spec import load_spec

    if path:
        try:
            return load_spec(path), Path(path), None
        except SpecError as exc:
            return preset_spec(FIRST_NETWORK), None, str(exc)
    if last_path:
        try:
            return load_spec(last_path), Path(last_path), None
        except SpecError:
            pass
    if last_spec:
        try:
            return ArchitectureSpec.from_json(last_spec), None, None
        except SpecError:
            pass
    return preset_spec(FIRST_NETWORK), None, None


def load_startup(path: str | None, last_path: str | None, last_spec: str | None, *,
                 summarise: bool) -> dict:
    """Work for the loader thread: registries, user blocks, the first network.

    Returns plain values: block and preset definitions, user blocks (and problems reading
    them), the first spec with its path, and a message if ``path`` could not be opened. A
    Python file in ``path`` is ``out["python"]`` (opened by the window once its views are in),
    over the course's first network. Nothing here imports PyTorch unless ``summarise``: then
    :func:`load_torch`'s values, the first network's summary among them, are in ``out`` too.
    """
    from explorer.core.library import load_user_blocks
    from explorer.core.pyfile import parse_target
    from explorer.core.registry import list_blocks, list_presets

    out: dict = {"blocks": list_blocks(), "presets": list_presets()}
    out["user_blocks"], out["user_problems"] = load_user_blocks()
    out["python"] = parse_target(path) if path else None
    if out["python"] is not None:
        path = last_path = last_spec = None
    out["spec"], out["path"], out["problem"] = first_network(path, last_path, last_spec)
    if summarise:
        out.update(load_torch(out["spec"]))
    return out


def load_torch(spec: ArchitectureSpec | None = None) -> dict:
    """Import PyTorch: ``{"device": the name of the device runs use}``, with ``spec``'s
    summary (``"summary"``) and the seconds it took (``"summary_seconds"``) if given."""
    import torch

    out: dict = {"device": torch.cuda.get_device_name(0) if torch.cuda.is_available()
                 else "CPU"}
    if spec is not None:
        from explorer.core.inspector import inspect_spec

        start = time.perf_counter()
        out["summary"] = inspect_spec(spec)
        out["summary_seconds"] = time.perf_counter() - start
    return out


def last_network(saved_spec: ArchitectureSpec | None, saved_path: Path | None
                 ) -> dict[str, str]:
    """What to remember for the next start: the last *saved* state (its file, or the
    network as it was last opened or saved), never unsaved edits."""
    return {"last/path": str(saved_path) if saved_path else "",
            "last/spec": saved_spec.to_json() if saved_spec is not None else ""}


# --------------------------------------------------------------------------- recent files


def recent_list(value: Any) -> list[str]:
    """The recent files as stored in the settings (one string, a list, or nothing)."""
    if isinstance(value, str):
        value = [value] if value else []
    return [str(v) for v in value or [] if str(v)]


def add_recent(recent: list[str], path: str | os.PathLike) -> list[str]:
    """``recent`` with ``path`` (made absolute) first, no duplicates, at most ``MAX_RECENT``."""
    path = str(Path(path).resolve())
    return ([path] + [p for p in recent if p != path])[:MAX_RECENT]
