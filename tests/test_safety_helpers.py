"""The safety helpers: escaped text, crash logs, regular-file reads, run folders, bounds."""

from __future__ import annotations

import errno
import io
import json
import os
import sys

import pytest

from explorer.core import limits
from explorer.crash import EXIT_CRASH, report_crash, write_crash_log
from explorer.files import FileProblem, check_regular, read_bytes, write_problem
from explorer.paths import user_state_dir
from explorer.textout import CleanStream, OutputError, clean
from explorer.training.runs import (
    RunDirError,
    default_run_dir,
    prepare_run_dir,
    safe_folder_name,
)


@pytest.fixture(autouse=True)
def state_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state"


# ------------------------------------------------------------------ text


def test_clean_escapes_terminal_controls_and_keeps_text():
    evil = "\x1b[2J\x1b]0;title\x07name\u202etxt.exe\x9b\x00"
    shown = clean(evil)
    assert not any(c in shown for c in "\x1b\x07\u202e\x9b\x00")
    assert shown == "\\u001b[2J\\u001b]0;title\\u0007name\\u202etxt.exe\\u009b\\u0000"
    assert clean("two\nlines\tand tabs ×÷ é") == "two\nlines\tand tabs ×÷ é"
    assert clean("a\nb", one_line=True) == "a\\u000ab"
    assert clean("bad \udcff byte") == "bad \\udcff byte"  # from an undecodable file name


def test_clean_json_stays_the_same_json():
    document = {"name": "\x1b[2J\u202e\x9b", "n": [1, 2]}
    text = json.dumps(document, ensure_ascii=False)
    assert json.loads(clean(text)) == document


def test_clean_stream_cleans_and_reports_a_full_disk():
    raw = io.StringIO()
    CleanStream(raw).write("x\x1b[2Jy\n")
    assert raw.getvalue() == "x\\u001b[2Jy\n"

    class Full(io.StringIO):
        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputError) as info:
        CleanStream(Full()).write("x")
    assert info.value.errno == errno.ENOSPC


# ------------------------------------------------------------------ crash log


def test_crash_log_holds_the_traceback_and_one_line_points_at_it(state_home):
    try:
        raise RuntimeError("boom\x1b[2J")
    except RuntimeError as exc:
        stream = io.StringIO()
        code = report_crash(exc, context="explorer summary x", stream=stream)
    assert code == EXIT_CRASH == 70
    line = stream.getvalue()
    assert line.count("\n") == 1 and "RuntimeError: boom" in line and "\x1b" not in line
    (log,) = (state_home / "network-explorer" / "crashes").iterdir()
    assert str(log) in line and log.parent.parent == user_state_dir()
    text = log.read_text()
    assert "Traceback" in text and "explorer summary x" in text and "raise RuntimeError" in text


def test_crash_without_a_writable_state_folder_prints_the_traceback(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    try:
        raise ValueError("x")
    except ValueError as exc:
        assert write_crash_log(type(exc), exc, exc.__traceback__, folder=blocker / "d") is None


# ------------------------------------------------------------------ files


def test_special_files_are_refused_without_being_opened(tmp_path, monkeypatch):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    opened = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda p, *a, **k: opened.append(p) or real_open(p, *a, **k))
    with pytest.raises(FileProblem, match=r"pipe\.json: is a named pipe \(FIFO\), not a file"):
        read_bytes(fifo, "an architecture .json file")
    with pytest.raises(FileProblem, match="is a folder, not a file; expected a thing"):
        read_bytes(tmp_path, "a thing")
    with pytest.raises(FileProblem, match="is a character device"):
        check_regular("/dev/null")
    assert opened == []
    with pytest.raises(FileProblem, match="no such file"):
        read_bytes(tmp_path / "missing")
    big = tmp_path / "big"
    big.write_bytes(b"x" * 100)
    with pytest.raises(FileProblem, match="100 bytes, more than the 10"):
        read_bytes(big, max_bytes=10)
    assert read_bytes(big, max_bytes=100) == b"x" * 100


def test_write_problem_names_the_file_and_the_reason():
    exc = OSError(errno.ENOSPC, "No space left on device", "/runs/a/best.safetensors")
    assert write_problem("/runs/a", exc) == (
        "cannot write /runs/a/best.safetensors: No space left on device; free some space or "
        "choose another folder")


# ------------------------------------------------------------------ run folders


@pytest.mark.parametrize("name, folder", [
    ("../../x", "x"), ("/etc/passwd", "etc_passwd"), ("", "network"), ("..", "network"),
    ("\x1b[2Jevil", "2Jevil"), ("Café net", "Cafe_net"), ("a" * 200, "a" * 60),
    ("C:\\Windows", "C_Windows"), (".hidden", "hidden"),
])
def test_names_are_display_text_never_paths(name, folder, tmp_path):
    assert safe_folder_name(name) == folder
    path = default_run_dir(name, root=tmp_path)
    assert path.parent == tmp_path and path.name.startswith(folder + "-")


def test_default_run_dir_never_reuses_a_folder(tmp_path):
    first = default_run_dir("lenet", root=tmp_path)
    first.mkdir()
    assert default_run_dir("lenet", root=tmp_path) != first


def _fake_run(folder, name="lenet"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(
        {"format": "network-explorer/run", "architecture": {"name": name}}))
    (folder / "best.safetensors").write_bytes(b"old")


def test_out_folder_rules(tmp_path):
    assert prepare_run_dir(tmp_path / "new" / "run").is_dir()
    run = tmp_path / "run"
    _fake_run(run)
    with pytest.raises(RunDirError, match="holds a run of lenet.*--overwrite"):
        prepare_run_dir(run)
    assert (run / "best.safetensors").read_bytes() == b"old"
    prepare_run_dir(run, overwrite=True)
    assert list(run.iterdir()) == []  # the old run's files are gone, nothing is mixed

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text('{"my": "settings"}')
    for overwrite in (False, True):
        with pytest.raises(RunDirError, match="not a training run .config.json."):
            prepare_run_dir(mine, overwrite=overwrite)
    assert (mine / "config.json").read_text() == '{"my": "settings"}'

    _fake_run(run)
    (run / "notes.txt").write_text("mine")
    with pytest.raises(RunDirError, match="plus other files .notes.txt."):
        prepare_run_dir(run, overwrite=True)
    assert (run / "notes.txt").exists() and (run / "config.json").exists()


@pytest.mark.parametrize("where, reason", [
    ("file", "is a file, not a folder"),
    ("file/sub", "Not a directory"),
    ("/proc/x", "cannot create the run folder"),
])
def test_out_folder_that_cannot_be_made(tmp_path, where, reason):
    (tmp_path / "file").write_text("")
    path = where if where.startswith("/") else tmp_path / where
    with pytest.raises(RunDirError, match=reason) as info:
        prepare_run_dir(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


# ------------------------------------------------------------------ bounds


def test_network_size_counts_repeats_and_nesting_without_recursion():
    block = {"type": "relu"}
    for _ in range(5000):
        block = {"type": "group", "blocks": [block]}
    assert limits.network_size([block])[1] > limits.MAX_NESTING  # stops early, no recursion
    blocks = [{"type": "group", "repeat": 100, "blocks": [
        {"type": "group", "repeat": 100, "blocks": [{"type": "relu"}]}]}]
    assert limits.network_size(blocks)[0] > limits.MAX_LAYERS
    assert limits.network_size([{"type": "vgg_block", "num_convs": 3}]) == (3, 0)
    assert limits.network_size([{"type": ["weird"], "blocks": "no"}]) == (1, 0)


def test_check_elements_counts_in_python_integers():
    assert limits.check_elements("x", (2**20, 2**20)) == 2**40
    with pytest.raises(limits.LimitError, match="1099511627777|1.1e\\+12"):
        limits.check_elements("the weights", (2**40 + 1,))
    assert limits.format_bytes(3 * 2**60) == "3.0 EiB"


def test_output_is_restored_after_main(capsys):
    from explorer.cli import main

    before = sys.stdout
    main(["presets"])
    assert sys.stdout is before
