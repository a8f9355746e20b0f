"""The session records without Qt: one lock and one autosave per instance, crashed instances
offered once, never another live instance's record; the first network; recent files."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.core.presets import preset_spec
from explorer.core.registry import load_registries
from explorer.core.spec import save_spec
from explorer.session import (
    FIRST_NETWORK,
    MAX_RECENT,
    PidLock,
    Session,
    Work,
    add_recent,
    first_network,
    last_network,
    recent_list,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="module")
def registries():
    load_registries()


def _edited(name: str = "lenet"):
    spec = preset_spec(name)
    return spec, dataclasses.replace(spec, name=f"{name}-edited", num_classes=7)


def crashed_instance(folder: Path, instance_id: str, work: Work | None) -> None:
    """What a killed instance leaves: its record and a lock taken by a process now gone."""
    code = ("import os, sys; from pathlib import Path; from explorer.session import PidLock; "
            "assert PidLock(Path(sys.argv[1])).try_lock(); os._exit(9)")
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c", code, str(folder / f"{instance_id}.lock")],
                   env=dict(os.environ, PYTHONPATH=str(ROOT)), check=False, timeout=60)
    assert (folder / f"{instance_id}.lock").exists()
    record = {"format": "network-explorer/session", "pid": 1, "started": 0.0,
              "work": work.to_dict() if work is not None else None}
    (folder / f"{instance_id}.json").write_text(json.dumps(record))


def test_an_instance_keeps_its_own_lock_and_autosave_and_removes_them_on_exit(tmp_path):
    saved, edited = _edited()
    session = Session(tmp_path, instance_id="a")
    session.begin()
    assert (tmp_path / "a.lock").read_text().split()[0] == str(os.getpid())
    session.save(Work(edited, None, True, saved, None, 12.5))
    record = json.loads((tmp_path / "a.json").read_text())
    back = Work.from_dict(record["work"])
    assert back.spec == edited and back.saved_spec == saved and back.modified
    assert back.time == 12.5 and back.path is None
    session.end()
    assert sorted(os.listdir(tmp_path)) == []


def test_two_live_instances_never_touch_each_other(tmp_path):
    _saved, edited = _edited()
    first, second = Session(tmp_path, instance_id="a"), Session(tmp_path, instance_id="b")
    first.begin()
    second.begin()
    first.save(Work(edited, None, True))
    second.save(Work(preset_spec("nin"), None, True))
    assert second.orphans() == [] and first.orphans() == []  # alive: not offered
    second.end()
    assert Work.from_dict(json.loads((tmp_path / "a.json").read_text())["work"]).spec == edited
    assert (tmp_path / "a.lock").exists() and not (tmp_path / "b.json").exists()
    third = Session(tmp_path, instance_id="c")
    third.begin()
    assert third.orphans() == []
    third.end()
    assert (tmp_path / "a.json").exists()
    first.end()


def test_a_crashed_instance_is_offered_once_and_restored_or_kept(tmp_path):
    saved, edited = _edited()
    crashed_instance(tmp_path, "dead", Work(edited, tmp_path / "x.json", True, saved,
                                            tmp_path / "x.json", 100.0))
    later = Session(tmp_path, instance_id="later")
    later.begin()
    orphans = later.orphans()
    assert [o.id for o in orphans] == ["dead"]
    work = orphans[0].work
    assert work.spec == edited and work.saved_spec == saved and work.path == tmp_path / "x.json"
    # while one start decides about it, another start does not offer it too
    meanwhile = Session(tmp_path, instance_id="meanwhile")
    meanwhile.begin()
    assert meanwhile.orphans() == []
    orphans[0].keep()  # "not now": offered again at the next start
    assert [o.id for o in meanwhile.orphans()] == ["dead"]
    assert later.orphans() == []
    meanwhile.end()  # quits without deciding: the record waits for the next start
    again = later.orphans()
    assert [o.id for o in again] == ["dead"]
    again[0].discard()
    assert not (tmp_path / "dead.json").exists() and not (tmp_path / "dead.lock").exists()
    assert later.orphans() == []
    later.end()


def test_gone_instances_without_unsaved_work_are_cleaned_up(tmp_path):
    crashed_instance(tmp_path, "clean", Work(preset_spec("lenet"), None, False))
    crashed_instance(tmp_path, "empty", None)
    session = Session(tmp_path, instance_id="me")
    session.begin()
    assert session.orphans() == []
    assert sorted(os.listdir(tmp_path)) == ["me.json", "me.lock"]
    session.end()


def test_several_crashed_instances_come_newest_first(tmp_path):
    crashed_instance(tmp_path, "old", Work(preset_spec("lenet"), None, True, time=10.0))
    crashed_instance(tmp_path, "new", Work(preset_spec("nin"), None, True, time=20.0))
    session = Session(tmp_path)
    session.begin()
    orphans = session.orphans()
    assert [o.work.spec.name for o in orphans] == ["nin", "lenet"]
    for orphan in orphans:
        orphan.keep()
    session.end()


def test_a_folder_that_cannot_be_written_fails_loudly_and_keeps_nothing_half(tmp_path):
    blocker = tmp_path / "state"
    blocker.write_text("a file where the folder should be")
    session = Session(blocker / "sessions")
    with pytest.raises(OSError):
        session.begin()
    assert not session.active
    with pytest.raises(OSError):
        session.save(Work(preset_spec("lenet"), None, True))


def test_a_pid_lock_is_stale_only_when_its_process_is_gone(tmp_path):
    mine = PidLock(tmp_path / "x.lock")
    assert mine.try_lock()
    assert not PidLock(tmp_path / "x.lock").try_lock()  # a live process (this one) holds it
    mine.unlock()
    assert not (tmp_path / "x.lock").exists()
    crashed_instance(tmp_path, "x", None)
    taker = PidLock(tmp_path / "x.lock")
    assert taker.try_lock()
    assert (tmp_path / "x.lock").read_text().split()[0] == str(os.getpid())
    taker.unlock()


# ------------------------------------------------------------------ the first network


def test_the_first_network_is_the_named_file_then_the_last_saved_state(tmp_path):
    saved, edited = _edited()
    file = tmp_path / "mine.json"
    save_spec(edited, file)
    assert first_network(str(file), None, None) == (edited, file, None)
    assert first_network(None, str(file), saved.to_json()) == (edited, file, None)
    file.unlink()  # the last file is gone: its last saved state, then the course's network
    assert first_network(None, str(file), saved.to_json()) == (saved, None, None)
    spec, path, problem = first_network(str(file), None, saved.to_json())
    assert spec.name == FIRST_NETWORK and path is None and "mine.json" in problem
    assert first_network(None, None, "{broken")[0].name == FIRST_NETWORK


def test_what_is_remembered_is_the_saved_state_never_the_edit(tmp_path):
    saved, _edited_spec = _edited()
    remembered = last_network(saved, tmp_path / "mine.json")
    assert remembered == {"last/path": str(tmp_path / "mine.json"),
                          "last/spec": saved.to_json()}
    assert last_network(saved, None)["last/path"] == ""


def test_recent_files_newest_first_without_duplicates(tmp_path):
    assert recent_list(None) == [] and recent_list("") == []
    assert recent_list("/a.json") == ["/a.json"]
    recent: list[str] = []
    for i in range(MAX_RECENT + 2):
        recent = add_recent(recent, tmp_path / f"{i}.json")
    recent = add_recent(recent, tmp_path / "5.json")
    assert recent[0] == str((tmp_path / "5.json").resolve()) and len(recent) == MAX_RECENT
    assert recent.count(str((tmp_path / "5.json").resolve())) == 1
    assert recent[1] == str((tmp_path / f"{MAX_RECENT + 1}.json").resolve())


def test_its_own_record_is_never_offered_even_by_a_lock_that_lets_it_in_again(tmp_path):
    """A lock its own process may take twice (POSIX record locks are per process): the
    instance's own record is still not an orphan, neither offered nor cleaned up."""

    class ReentrantLock:
        def __init__(self, path: Path) -> None:
            self.path = path

        def try_lock(self) -> bool:
            return True

        def unlock(self) -> None:
            pass

    _saved, edited = _edited()
    session = Session(tmp_path, ReentrantLock, instance_id="a")
    session.begin()
    session.save(Work(edited, None, True))
    assert session.orphans() == []
    session.save(Work(edited, None, False))
    assert session.orphans() == []
    assert Work.from_dict(json.loads((tmp_path / "a.json").read_text())["work"]).spec == edited
    session.end()
