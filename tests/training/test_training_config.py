from __future__ import annotations

import json
import threading
import time

import pytest
import torch

from explorer.training import ConfigError, TrainConfig, TrainControl, resolve_device
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
    config = TrainConfig(**{field: value})
    with pytest.raises(ConfigError) as info:
        config.validate()
    message = str(info.value)
    assert info.value.field == field
    assert message.startswith(f"{field} = {value!r} is not valid: expected")
    assert expected in message


def test_lr_message_reads_well():
    with pytest.raises(ConfigError, match=r"^lr = -0\.1 is not valid: expected a number > 0$"):
        TrainConfig(lr=-0.1).validate()


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
