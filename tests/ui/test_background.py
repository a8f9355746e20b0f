"""The latest-job worker: only the newest job of a key runs and reports, a result one
generation old is dropped, stop is bounded and restartable; the inspector on top of it ends
its child process even while the child is being started."""

from __future__ import annotations

import dataclasses
import subprocess
import threading
import time

from PySide6.QtWidgets import QApplication

from explorer.core.presets import preset_spec
from explorer.ui import background, inspection_process
from explorer.ui.background import Inspector, JobFailed, LatestJobs, Task
from explorer.ui.inspection_process import InspectJob


def _collect(jobs: LatestJobs):
    results, errors = [], []
    jobs.result.connect(lambda key, gen, value: results.append((key, gen, value)))
    jobs.error.connect(lambda key, gen, text: errors.append((key, gen, text)))
    return results, errors


def _gated(gate: threading.Event, started: threading.Event | None = None):
    def job(value):
        if started is not None:
            started.set()
        assert gate.wait(10)
        return value
    return job


def _join_workers(name: str) -> None:
    for thread in threading.enumerate():
        if thread.name == background.THREAD_PREFIX + name:
            thread.join(10)


def test_only_the_newest_waiting_job_of_a_key_runs(qtbot):
    jobs = LatestJobs("test")
    results, errors = _collect(jobs)
    gate, busy, ran = threading.Event(), threading.Event(), []

    def job(n):
        ran.append(n)
        return n * 10

    jobs.submit(_gated(gate, busy), 0, key="predict")  # holds the thread
    assert busy.wait(10)
    for n in (2, 3, 4):
        jobs.submit(job, n, key="predict")
    jobs.submit(lambda: 1 / 0, key="features")
    jobs.submit(lambda: (_ for _ in ()).throw(JobFailed("its own words")), key="load")
    gate.set()
    qtbot.waitUntil(lambda: len(results) == 1 and len(errors) == 2, timeout=10_000)
    assert jobs.stop()
    assert ran == [4]                                     # 2 and 3 were replaced waiting
    assert results == [("predict", 4, 40)]               # the held job (1) is one behind: gone
    assert errors[0][:2] == ("features", 5) and errors[0][2] == \
        "ZeroDivisionError: division by zero"
    assert errors[1] == ("load", 6, "its own words")
    assert jobs.dropped == 1
    assert not jobs.running


def test_a_result_one_generation_old_is_dropped(qtbot):
    """The first job finishes after the second was submitted but before it ends: its result
    is one generation behind and must not reach the view."""
    jobs = LatestJobs("test")
    results, _errors = _collect(jobs)
    first, second, busy = threading.Event(), threading.Event(), threading.Event()
    jobs.submit(_gated(first, busy), "old", generation=41)
    assert busy.wait(10)
    jobs.submit(_gated(second), "new", generation=42)
    first.set()
    qtbot.waitUntil(lambda: jobs.dropped == 1, timeout=10_000)
    assert results == []
    second.set()
    qtbot.waitUntil(lambda: bool(results), timeout=10_000)
    assert results == [("", 42, "new")]
    assert jobs.latest() == 42
    assert jobs.stop()


def test_stop_is_bounded_and_an_abandoned_job_never_reports(qtbot):
    jobs = LatestJobs("test")
    results, errors = _collect(jobs)
    gate, busy = threading.Event(), threading.Event()
    jobs.submit(_gated(gate, busy), "late")
    assert busy.wait(10)
    start = time.perf_counter()
    assert jobs.stop(timeout=0.2) is False                # the job outlived the wait
    assert time.perf_counter() - start < 2
    assert not jobs.running
    gate.set()
    _join_workers("test")
    QApplication.processEvents()
    assert results == [] and errors == []
    assert jobs.dropped == 0                              # it did not even try
    jobs.submit(lambda: "again")                          # restarts with a new thread
    qtbot.waitUntil(lambda: bool(results), timeout=10_000)
    assert results[-1][2] == "again"
    assert jobs.stop()


def test_stop_interrupts_the_running_job(qtbot):
    gate, busy = threading.Event(), threading.Event()
    jobs = LatestJobs("test", interrupt=gate.set)
    jobs.submit(_gated(gate, busy), "x")
    assert busy.wait(10)
    assert jobs.stop(timeout=5)
    assert not jobs.running


def test_rapid_requests_are_coalesced_to_the_latest(qtbot):
    inspector = Inspector()
    results = []
    inspector.finished.connect(results.append)
    spec = preset_spec("resnet18")
    try:
        for generation in range(1, 6):
            inspector.request(InspectJob(generation, dataclasses.replace(
                spec, num_classes=10 + generation)))
        qtbot.waitUntil(lambda: bool(results) and results[-1].generation == 5, timeout=30000)
    finally:
        inspector.stop()
    assert [r.generation for r in results] == [5]        # older ones: replaced or dropped
    assert results[-1].summary.output_shape == (15,)
    assert results[-1].seconds > 0
    assert not inspector.is_running()


def test_torchvision_jobs_are_inspected(qtbot):
    inspector = Inspector()
    try:
        with qtbot.waitSignal(inspector.finished, timeout=60000) as blocker:
            inspector.request(InspectJob(7, torchvision="torchvision:resnet18"))
    finally:
        inspector.stop()
    result = blocker.args[0]
    assert result.generation == 7 and result.summary.total_params == 11_689_512


def test_stop_ends_a_child_being_started_and_a_later_request_restarts(qtbot, monkeypatch):
    real_popen, gate, spawning, children = subprocess.Popen, threading.Event(), \
        threading.Event(), []

    def slow_popen(*args, **kwargs):
        spawning.set()
        gate.wait(10)
        children.append(real_popen(*args, **kwargs))
        return children[-1]

    monkeypatch.setattr(inspection_process.subprocess, "Popen", slow_popen)
    inspector = Inspector()
    results, failures = [], []
    inspector.finished.connect(results.append)
    inspector.failed.connect(lambda gen, text: failures.append(text))
    inspector.request(InspectJob(1, preset_spec("lenet")))
    assert spawning.wait(10)
    start = time.perf_counter()
    assert inspector.stop(timeout=0.3) is False          # the start outlived the wait
    assert time.perf_counter() - start < 2
    gate.set()
    _join_workers("inspector")
    assert len(children) == 1
    assert children[0].wait(10) is not None              # the child started late was ended
    QApplication.processEvents()
    assert results == [] and failures == []
    monkeypatch.setattr(inspection_process.subprocess, "Popen", real_popen)
    try:
        with qtbot.waitSignal(inspector.finished, timeout=60000) as blocker:
            inspector.request(InspectJob(2, preset_spec("lenet")))
    finally:
        inspector.stop()
    assert blocker.args[0].summary.total_params == 61_706


def test_stop_abandons_a_running_inspection_at_once(qtbot):
    inspector = Inspector()
    inspector.request(InspectJob(1, preset_spec("googlenet")))
    inspector.request(InspectJob(2, preset_spec("densenet")))
    start = time.perf_counter()
    assert inspector.stop()
    assert time.perf_counter() - start < 5
    assert not inspector.is_running()


def test_task_reports_result_and_error(qtbot):
    ok = Task(lambda: 41 + 1)
    with qtbot.waitSignal(ok.done) as blocker:
        ok.start()
    ok.wait()
    assert blocker.args == [42]
    bad = Task(lambda: 1 / 0)
    with qtbot.waitSignal(bad.error) as blocker:
        bad.start()
    bad.wait()
    assert "ZeroDivisionError" in blocker.args[0]
