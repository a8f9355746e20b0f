"""The inspection worker: results tagged with generations, rapid requests coalesced, the
thread joined on stop; one-off tasks report results and errors."""

from __future__ import annotations

import dataclasses

from explorer.core.presets import preset_spec
from explorer.ui.background import InspectJob, Inspector, Task


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
    generations = [r.generation for r in results]
    assert set(generations) <= {1, 5}          # 2, 3 and 4 were replaced before they started
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


def test_stop_joins_even_with_work_pending(qtbot):
    inspector = Inspector()
    inspector.request(InspectJob(1, preset_spec("googlenet")))
    inspector.request(InspectJob(2, preset_spec("densenet")))
    inspector.stop()
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
