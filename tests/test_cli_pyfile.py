"""``explorer summary/train/export`` on a user's Python file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pyfile_sources import BAD_FILES, COURSE_NET, COURSE_NET_PARAMS, WRONG_LINEAR, write

from explorer.cli import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_summary_table_json_and_input(capsys, tmp_path):
    path = write(tmp_path, "net.py", COURSE_NET)
    code, out, err = run(capsys, "summary", path)
    assert code == 0, err
    assert "net.py:Net  input 1×28×28" in out and f"Parameters:        {COURSE_NET_PARAMS:,}" \
        in out
    assert "module level" in err  # what the file printed goes to stderr, as python shows it
    code, out, _ = run(capsys, "summary", f"{path}:Net", "--json")
    data = json.loads(out)
    assert code == 0 and data["total_params"] == COURSE_NET_PARAMS
    assert data["output_shape"] == [10] and data["candidates"] == ["Net"]
    # another input: the view(batch, -1) no longer gives 320 features
    code, out, _ = run(capsys, "summary", path, "--input", "1,32,32")
    assert code == 1 and "in_features should be 500" in out


def test_forward_error_prints_the_rows_and_exits_1(capsys, tmp_path):
    code, out, err = run(capsys, "summary", write(tmp_path, "wrong.py", WRONG_LINEAR))
    assert code == 1
    assert "conv2" in out and "In wrong.py, line 22: return self.fc(x)" in out
    assert "in_features should be 320" in out
    assert 'File "' in err and "wrong.py" in err  # the user's frames of the traceback


def test_candidates_are_listed_with_exit_2(capsys, tmp_path):
    path = write(tmp_path, "two.py", """\
        from torch import nn
        class A(nn.Module):
            def forward(self, x):
                return x
        def make_b() -> nn.Module:
            return nn.Identity()
        """)
    code, out, err = run(capsys, "summary", path)
    assert code == 2 and out == ""
    assert "two.py offers 2 networks; name one: two.py:A (class, line 2), two.py:make_b " \
           "(function, line 5)" in err
    code, _, err = run(capsys, "summary", f"{path}:C")
    assert code == 2 and "has no network called 'C'" in err and "A, make_b" in err


@pytest.mark.parametrize("name", ["syntax", "init", "os_exit"])
def test_bad_file_is_one_line_naming_the_line(capsys, tmp_path, name):
    source, _, line, words = BAD_FILES[name]
    code, out, err = run(capsys, "summary", write(tmp_path, f"{name}.py", source))
    assert code == 2 and out == ""
    (message,) = [m for m in err.splitlines() if m.startswith("explorer: error:")]
    assert f"{name}.py, line {line}:" in message and all(w in message for w in words)


def test_missing_file_exits_2(capsys, tmp_path):
    code, _, err = run(capsys, "summary", tmp_path / "nope.py")
    assert code == 2 and "no such file" in err


def test_train_a_file(capsys, tmp_path):
    path = write(tmp_path, "net.py", COURSE_NET)
    out_dir = tmp_path / "run"
    code, out, err = run(capsys, "train", f"{path}:Net", "--epochs", "1", "--max-batches", "3",
                         "--batch-size", "16", "--out", out_dir, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["status"] == "finished" and result["epochs"] == 1
    sidecar = json.loads((out_dir / "best.json").read_text())
    assert sidecar["architecture"]["format"] == "network-explorer/python-file"
    assert sidecar["architecture"]["target"] == "Net"
    from safetensors.torch import load_file

    weights = load_file(out_dir / "best.safetensors")
    assert sum(t.numel() for t in weights.values()) == COURSE_NET_PARAMS


def test_train_refuses_a_file_that_does_not_end_in_scores(capsys, tmp_path):
    path = write(tmp_path, "maps.py", "from torch import nn\nnet = nn.Conv2d(1, 4, 3)\n")
    code, _, err = run(capsys, "train", path, "--epochs", "1")
    assert code == 2 and "ends in 4×26×26, not one score per class" in err


def test_export_onnx_of_a_file(capsys, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    import torch

    path = write(tmp_path, "net.py", COURSE_NET + "\ntorch.manual_seed(0)\n")
    target = tmp_path / "net.onnx"
    code, _, err = run(capsys, "export", path, "--format", "onnx", "-o", target)
    assert code == 0, err
    session = onnxruntime.InferenceSession(str(target))
    x = np.random.default_rng(0).standard_normal((3, 1, 28, 28)).astype(np.float32)
    (scores,) = session.run(None, {"images": x})
    assert scores.shape == (3, 10) and np.isfinite(scores).all()
    code, _, err = run(capsys, "export", path, "--format", "pytorch")
    assert code == 2 and "use --format onnx" in err
    # with the weights of a run: the ONNX model computes what the weights compute
    from explorer.core.pyfile.network import FileNetwork
    from explorer.core.pyfile.source import read_source

    network = FileNetwork(str(path), read_source(path), "Net", (1, 28, 28), 10)
    model = network.build()
    torch.save(model.state_dict(), tmp_path / "w.pt")
    code, _, err = run(capsys, "export", path, "--format", "onnx", "-o", target,
                       "--weights", tmp_path / "w.pt")
    assert code == 0, err
    (scores,) = onnxruntime.InferenceSession(str(target)).run(None, {"images": x})
    with torch.no_grad():
        expected = model.eval()(torch.from_numpy(x)).numpy()
    assert np.allclose(scores, expected, atol=1e-4)
