from __future__ import annotations

import dataclasses
import json
import threading
import time

import pytest
import torch

from explorer.core.registry import Param
from explorer.training import SETTINGS, ConfigError, TrainConfig, TrainControl, resolve_device
from explorer.training.config import setting
from explorer.training.events import BatchEnd, Finished, event_name, event_to_dict


def test_defaults_are_the_course_setup():
    config = TrainConfig()
    config.validate()
    assert (config.optimizer, config.lr, config.momentum) == ("sgd", 0.01, 0.5)
    assert (config.batch_size, config.epochs, config.dataset) == (64, 10, "mnist-sample")
    assert config.effective_step_size == 3


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("dataset", "", "data set name"),
        ("epochs", 0, "integer ≥ 1"),
        ("epochs", 2.5, "integer ≥ 1"),
        ("batch_size", True, "integer ≥ 1"),
        ("optimizer", "rmsprop", "'sgd', 'adam', 'adamw'"),
        ("lr", -0.1, "a number > 0"),
        ("lr", float("nan"), "a number > 0"),
        ("lr", "0.1", "a number > 0"),
        ("momentum", 1.0, "≥ 0 and < 1"),
        ("weight_decay", -1e-4, "≥ 0"),
        ("schedule", "exp", "'none', 'step', 'cosine', 'onecycle'"),
        ("step_size", 0, "integer ≥ 1"),
        ("gamma", 0.0, "> 0 and ≤ 1"),
        ("seed", -1, "integer ≥ 0"),
        ("augment", "yes", "true or false"),
        ("device", "tpu", "'auto', 'cpu', 'cuda'"),
        ("amp", 1, "true or false"),
        ("eval_batch_size", 0, "integer ≥ 1"),
        ("max_batches_per_epoch", 0, "integer ≥ 1 or null"),
    ],
)
def test_every_bad_field_is_named(field, value, expected):
    with pytest.raises(ConfigError) as info:
        TrainConfig(**{field: value})
    message = str(info.value)
    assert info.value.field == field
    assert message.startswith(f"{field} = {value!r} is not valid: expected")
    assert expected in message


def test_lr_message_reads_well():
    bound = r"a number > 0 and ≤ 3\.4e\+38"
    with pytest.raises(ConfigError, match=rf"^lr = -0\.1 is not valid: expected {bound}$"):
        TrainConfig(lr=-0.1)
    with pytest.raises(ConfigError, match=rf"^lr = 0 is not valid: expected {bound}$"):
        TrainConfig(lr=0)
    with pytest.raises(ConfigError, match="gamma = 1.5 is not valid: expected a number > 0 and ≤ 1"):
        TrainConfig(gamma=1.5)
    with pytest.raises(ConfigError, match="≤ 9223372036854775807"):
        TrainConfig(seed=2**63)
    assert TrainConfig(device="cuda:1").device == "cuda:1"  # a name, checked when resolved


def test_the_config_is_frozen_and_stays_valid():
    config = TrainConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.lr = 0.5
    assert dataclasses.replace(config, lr=0.5).lr == 0.5
    with pytest.raises(ConfigError, match="lr = -1"):
        dataclasses.replace(config, lr=-1)


def test_one_schema_gives_the_fields_and_defaults():
    assert [f.name for f in dataclasses.fields(TrainConfig)] == [p.name for p in SETTINGS]
    assert all(isinstance(p, Param) for p in SETTINGS)
    assert TrainConfig().to_dict() == {p.name: p.default for p in SETTINGS}
    assert list(TrainConfig().to_dict()) == [p.name for p in SETTINGS]
    assert all(p.help for p in SETTINGS)
    assert setting("optimizer").choices == ("sgd", "adam", "adamw")
    assert setting("schedule").choices == ("none", "step", "cosine", "onecycle")
    assert setting("lr").describe() == "a number > 0 and ≤ 3.4e+38"
    assert setting("momentum").to_json()["applies_when"] == {"optimizer": ["sgd"]}


def test_applies_when():
    assert TrainConfig().applies("momentum")
    assert not TrainConfig(optimizer="adam").applies("momentum")
    assert not TrainConfig(optimizer="adamw").applies("momentum")
    for name in ("step_size", "gamma"):
        assert TrainConfig(schedule="step").applies(name)
        assert not TrainConfig(schedule="cosine").applies(name)
    assert TrainConfig(optimizer="adam").applies("lr")
    assert setting("momentum").condition() == "optimizer is 'sgd'"
    assert setting("gamma").condition() == "schedule is 'step'"
    assert setting("lr").condition() == ""


def test_json_round_trip():
    config = TrainConfig(optimizer="adamw", lr=3e-4, schedule="onecycle", augment=True,
                         max_batches_per_epoch=7)
    again = TrainConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
    assert TrainConfig.from_dict({"epochs": 3}) == TrainConfig(epochs=3)


def test_from_dict_rejects_unknown_and_invalid():
    with pytest.raises(ConfigError, match="unknown setting 'learning_rate'") as info:
        TrainConfig.from_dict({"learning_rate": 0.1})
    assert info.value.field == "learning_rate"
    with pytest.raises(ConfigError, match="batch_size = 0"):
        TrainConfig.from_dict({"batch_size": 0})
    with pytest.raises(ConfigError, match="JSON object"):
        TrainConfig.from_dict([1, 2])


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if torch.backends.mps.is_available() else "cpu")
    assert resolve_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="device = 'cuda' is not available") as info:
            resolve_device("cuda")
        assert info.value.field == "device"
    if not torch.backends.mps.is_available():
        with pytest.raises(ConfigError, match="device = 'mps' is not available"):
            resolve_device("mps")


def test_control_pause_resume_stop_across_threads():
    control = TrainControl()
    assert control.wait_if_paused(timeout=0) is True
    control.pause()
    assert control.paused
    woke = []
    waiter = threading.Thread(target=lambda: woke.append(control.wait_if_paused()))
    waiter.start()
    time.sleep(0.05)
    assert waiter.is_alive() and not woke
    control.resume()
    waiter.join(timeout=5)
    assert woke == [True]
    control.pause()
    waiter = threading.Thread(target=lambda: woke.append(control.wait_if_paused()))
    waiter.start()
    control.stop()
    waiter.join(timeout=5)
    assert woke == [True, False]
    assert control.stopped and not control.paused
    control.pause()
    assert not control.paused  # a stopped run cannot be paused again


def test_events_serialise():
    event = BatchEnd(epoch=1, batch=2, batches=3, step=2, loss=0.5, lr=0.01,
                     samples_per_second=100.0)
    assert event_name(event) == "batch_end"
    assert json.loads(json.dumps(event_to_dict(event)))["event"] == "batch_end"
    finished = Finished("finished", "", 1, 0.9, 0.9, None, 1.0, 10.0)
    assert event_to_dict(finished)["status"] == "finished"
    with pytest.raises(AttributeError):
        event.loss = 1.0
