"""Registries: loaded once, under a lock, complete for every thread, retried after a failure."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import types

import pytest

from explorer.core.registry import Registry, list_blocks, list_presets


def slow_registry(monkeypatch, entries: int = 20) -> Registry:
    """A registry whose loading module registers its entries slowly, one by one."""
    registry: Registry[int] = Registry("thing", ("fake_things",))

    def fake_import(name: str):
        for i in range(entries):
            registry.register(f"thing{i}", i)
            time.sleep(0.0005)
        return types.ModuleType(name)

    monkeypatch.setattr(registry, "_import", fake_import)
    return registry


def test_a_second_thread_sees_the_whole_registry(monkeypatch):
    for _ in range(100):
        registry = slow_registry(monkeypatch)
        seen: list[int] = []

        def look(registry=registry, seen=seen):
            seen.append(len(registry.list()))

        threads = [threading.Thread(target=look) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert seen == [20, 20]


def test_a_failed_load_is_rolled_back_and_retried(monkeypatch):
    registry: Registry[int] = Registry("thing", ("fake_things",))
    calls = []

    def flaky_import(name: str):
        calls.append(name)
        registry.register("a", 1)
        if len(calls) == 1:
            raise ImportError("broken module")
        return types.ModuleType(name)

    monkeypatch.setattr(registry, "_import", flaky_import)
    with pytest.raises(ImportError):
        registry.list()
    assert registry.names() == ["a"]  # no duplicate from the failed attempt
    assert len(calls) == 2


def test_duplicates_are_refused():
    registry: Registry[int] = Registry("thing", ())
    registry.register("a", 1)
    with pytest.raises(ValueError, match="thing 'a' is already registered"):
        registry.register("a", 2)
    with pytest.raises(KeyError, match="unknown thing 'b'"):
        registry.get("b")


def test_palette_and_inspection_threads_in_a_fresh_process():
    """The real registries, loaded by two threads at once (a palette and an inspection)."""
    script = """
import threading
from explorer.core.registry import list_blocks, list_presets
from explorer.core.inspector import inspect_spec
from explorer.core.spec import ArchitectureSpec
out = {}
def palette():
    out["blocks"], out["presets"] = len(list_blocks()), len(list_presets())
def inspect():
    spec = ArchitectureSpec("t", (1, 28, 28), 10, [{"type": "conv2d", "out_channels": 4}])
    out["ok"] = inspect_spec(spec).ok
threads = [threading.Thread(target=palette), threading.Thread(target=inspect)]
for t in threads: t.start()
for t in threads: t.join()
print(out["blocks"], out["presets"], out["ok"])
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.split() == [str(len(list_blocks())), str(len(list_presets())), "True"]


def test_registry_module_does_not_import_torch():
    done = subprocess.run(
        [sys.executable, "-c", ("import sys, explorer.core.registry, explorer.core.spec, "
                                "explorer.core.edit; print('torch' in sys.modules)")],
        capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "False"
