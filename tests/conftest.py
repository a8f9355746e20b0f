"""Shared test set-up: Qt renders offscreen, so the suite runs without a display; a fixture
for a local time zone that is not UTC."""

from __future__ import annotations

import os
import time

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def kolkata(monkeypatch):
    """Local time is UTC+05:30 for this test, so that UTC shown as local time shows."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
