"""A user's Python file: candidates, INPUT_SHAPE, the summary, and every bad file reported
with its line (in a child process, which the calling process survives)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pyfile_sources import (
    BAD_FILES,
    COURSE_NET,
    COURSE_NET_PARAMS,
    WRONG_LINEAR,
    WRONG_LINEAR_LINE,
    write,
)

from explorer.core.pyfile import FileRequest, parse_target
from explorer.core.pyfile.isolate import inspect_isolated

LIMIT = 20.0  # generous: the machine may be busy; only the loop test waits for its limit


def inspect(path, **kw):
    return inspect_isolated(FileRequest(str(path), **kw), time_limit=LIMIT)


def test_one_module_summary_and_output(tmp_path):
    report = inspect(write(tmp_path, "net.py", COURSE_NET))
    assert report.problem is None, report.problem
    assert report.target == "Net" and [c.name for c in report.candidates] == ["Net"]
    summary = report.summary
    assert summary.total_params == COURSE_NET_PARAMS
    assert summary.output_shape == (10,) and report.num_classes == 10
    assert report.input_shape == (1, 28, 28) and report.input_from == "default"
    shapes = [(r.name, r.output_shape) for r in summary.layers]
    assert shapes == [("conv1", (10, 24, 24)), ("pooling", (10, 12, 12)),
                      ("conv2", (20, 8, 8)), ("pooling (2)", (20, 4, 4)), ("fc", (10,))]
    # what the code printed is kept (the forward's print once, not once per pass)
    assert report.stdout == "module level\nafter conv2 torch.Size([1, 20, 4, 4])\n"
    assert report.table_summary().name == "net.py:Net"


def test_several_modules_ask_for_a_choice(tmp_path):
    path = write(tmp_path, "two.py", """\
        from torch import nn

        class Block(nn.Module):  # needs an argument: a part, not a network
            def __init__(self, channels):
                super().__init__()
                self.conv = nn.Conv2d(channels, channels, 3, padding=1)

        class Small(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(784, 10)

            def forward(self, x):
                return self.fc(x.flatten(1))

        class Wide(nn.Module):
            def __init__(self, hidden=100):
                super().__init__()
                self.body = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(),
                                          nn.Linear(hidden, 10))

            def forward(self, x):
                return self.body(x)
        """)
    report = inspect(path)
    assert report.problem.kind == "choose"
    assert [(c.name, c.kind, c.line) for c in report.candidates] == [
        ("Small", "class", 8), ("Wide", "class", 16)]
    assert report.summary is None
    wide = inspect(path, target="Wide")
    assert wide.problem is None and wide.summary.total_params == 784 * 100 + 100 + 1010
    unknown = inspect(path, target="Block2")
    assert unknown.problem.kind == "unknown" and "Small, Wide" in unknown.problem.hint


def test_builder_function_and_module_level_network(tmp_path):
    path = write(tmp_path, "built.py", """\
        import torch
        from torch import nn

        def make_layer(channels):  # a required argument: not offered
            return nn.Conv2d(channels, channels, 3)

        def main():  # returns no module: not offered
            print("training...")

        def build(width: int = 8):
            net = nn.Sequential(nn.Conv2d(1, width, 3), nn.ReLU(), nn.Flatten(),
                                nn.Linear(width * 26 * 26, 10))
            return net
        """)
    report = inspect(path)
    assert [(c.name, c.kind) for c in report.candidates] == [("build", "function")]
    assert report.problem is None and report.summary.total_params == 80 + 8 * 26 * 26 * 10 + 10
    # d2l's style: b1 … and net = nn.Sequential(b1, …) at module level; only net is offered
    path = write(tmp_path, "d2l.py", """\
        from torch import nn
        b1 = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU())
        b2 = nn.Sequential(nn.MaxPool2d(2), nn.Flatten())
        net = nn.Sequential(b1, b2, nn.Linear(4 * 14 * 14, 10))
        """)
    report = inspect(path)
    assert [(c.name, c.kind, c.line) for c in report.candidates] == [("net", "instance", 4)]
    assert report.summary.output_shape == (10,)


def test_input_shape_from_the_file_or_given(tmp_path):
    source = """\
        from torch import nn
        INPUT_SHAPE = (3, 32, 32)
        net = nn.Sequential(nn.Conv2d(3, 6, 5), nn.MaxPool2d(2))
        """
    report = inspect(write(tmp_path, "cifar.py", source))
    assert report.input_shape == (3, 32, 32) and report.input_from == "INPUT_SHAPE (line 2)"
    assert report.summary.output_shape == (6, 14, 14)
    given = inspect(tmp_path / "cifar.py", input_shape=(3, 64, 64))
    assert given.input_shape == (3, 64, 64) and given.summary.output_shape == (6, 30, 30)
    batch = inspect(write(tmp_path, "batch.py", source.replace("(3, 32, 32)", "(1, 3, 20, 20)")))
    assert batch.input_shape == (3, 20, 20)
    bad = inspect(write(tmp_path, "bad.py", source.replace("(3, 32, 32)", "(3, 'x', 32)")))
    assert bad.problem.kind == "input" and bad.problem.line == 2


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_name_the_users_line(tmp_path, name):
    source, kind, line, words = BAD_FILES[name]
    path = write(tmp_path, f"{name}.py", source)
    limit = 1.5 if name == "loop" else LIMIT
    report = inspect_isolated(FileRequest(str(path)), time_limit=limit)
    problem = report.problem
    assert problem is not None and problem.kind == kind, problem
    assert problem.line == line and problem.file.endswith(f"{name}.py"), problem
    assert problem.code == source.splitlines()[line - 1].strip()
    for word in words:
        assert word in problem.message, problem.message
    error = report.table_summary().error
    assert error.kind == "code" and error.line == line and error.file == f"{name}.py"


def test_forward_error_keeps_rows_and_explains_the_arithmetic(tmp_path):
    report = inspect(write(tmp_path, "wrong.py", WRONG_LINEAR))
    problem = report.problem
    assert problem.module == "fc" and problem.line == WRONG_LINEAR_LINE
    assert "in_features should be 320" in problem.hint and "20×4×4" in problem.hint
    assert [r.name for r in report.summary.layers] == ["conv1", "pooling", "conv2",
                                                        "pooling (2)"]
    assert report.table_summary().error.block_path == ("fc",)
    # a flatten layer: the hint says which flatten gave what
    flat = WRONG_LINEAR.replace("x = x.view(batch_size, -1)", "x = self.flat(x)").replace(
        "self.fc = nn", "self.flat = nn.Flatten()\n        self.fc = nn")
    hint = inspect(write(tmp_path, "flat.py", flat)).problem.hint
    assert "the flatten before it gives 20×4×4 = 320" in hint


def test_channel_mismatch_hint(tmp_path):
    report = inspect(write(tmp_path, "chan.py", """\
        from torch import nn
        net = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Conv2d(3, 8, 3))
        """))
    assert report.problem.module == "2"
    assert report.problem.hint.startswith("in_channels should be 8")


@pytest.mark.parametrize(("layers", "module", "words"), [
    ("nn.Conv2d(1, 8, 3), nn.BatchNorm2d(4)", "1", "running_mean should contain 8 elements not 4"),
    ("nn.Conv2d(1, 8, 3), nn.Flatten(), nn.BatchNorm2d(8)", "2", "expected 4D input (got 2D"),
    ("nn.Flatten(), nn.Linear(784, 16), nn.BatchNorm1d(10)", "2",
     "running_mean should contain 16 elements not 10"),
])
def test_a_batch_norm_that_does_not_fit_is_reported(tmp_path, layers, module, words):
    """Written by hand, a batch norm can get its channels wrong: the table stops at it with
    PyTorch's own words (the fast shape pass must not skip PyTorch's check)."""
    report = inspect(write(tmp_path, "bn.py", f"""\
        from torch import nn
        net = nn.Sequential({layers})
        """))
    assert report.problem is not None and report.problem.module == module
    assert words in report.problem.message
    fitting = inspect(write(tmp_path, "ok.py", """\
        from torch import nn
        net = nn.Sequential(nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.Flatten(),
                            nn.Linear(8 * 26 * 26, 16), nn.BatchNorm1d(16))
        """))
    assert fitting.problem is None and fitting.summary.output_shape == (16,)


def test_the_caller_survives_and_a_new_child_answers(tmp_path):
    crash = inspect(write(tmp_path, "segv.py", BAD_FILES["segfault"][0]))
    assert crash.problem.kind == "crash"
    again = inspect(write(tmp_path, "net.py", COURSE_NET))
    assert again.problem is None and again.summary.total_params == COURSE_NET_PARAMS


def test_fresh_interpreter_where_there_is_no_fork(tmp_path):
    path = write(tmp_path, "exit.py", "import sys\nprint('bye')\nsys.exit(3)\n")
    report = inspect_isolated(FileRequest(str(path)), time_limit=LIMIT, fork=False)
    assert report.problem.kind == "exit" and report.problem.line == 3
    assert report.stdout == "bye\n"


def test_parse_target():
    assert parse_target("net.py") == ("net.py", None)
    assert parse_target("dir/net.py:Net") == ("dir/net.py", "Net")
    assert parse_target(r"C:\x\net.py") == (r"C:\x\net.py", None)
    assert parse_target("lenet") is None and parse_target("net.json") is None
    assert parse_target("net.py:not valid") is None


def test_report_types_import_without_torch():
    code = ("import sys\nfrom explorer.core.pyfile import FileReport, FileRequest\n"
            "assert 'torch' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_a_newer_generation_stops_a_running_inspection(tmp_path):
    import os
    import threading

    path = write(tmp_path, "loop.py", BAD_FILES["loop"][0])
    read, write_end = os.pipe()
    threading.Timer(0.5, lambda: os.write(write_end, b"6\n")).start()
    try:
        report = inspect_isolated(FileRequest(str(path)), time_limit=LIMIT, cancel_fd=read,
                                  generation=5)
        assert report.problem.kind == "cancelled"  # stopped, not run to its time limit
        os.write(write_end, b"3\n")  # an older generation: it does not stop this one
        quick = write(tmp_path, "net.py", COURSE_NET)
        report = inspect_isolated(FileRequest(str(quick)), time_limit=LIMIT, cancel_fd=read,
                                  generation=5)
        assert report.problem is None
    finally:
        os.close(read)
        os.close(write_end)


def test_an_error_in_a_helper_names_the_innermost_line(tmp_path):
    """``forward`` (line 14) calls a helper of the file whose line 5 fails: the problem is
    line 5, and the details list both lines, outermost first."""
    path = write(tmp_path, "helper.py", """\
        from torch import nn


        def regroup(x):
            return x.view(x.shape[0], 5, -1)


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(784, 10)

            def forward(self, x):
                return self.fc(regroup(x).flatten(1))
        """)
    problem = inspect(path).problem
    assert problem is not None and problem.kind == "forward", problem
    assert problem.line == 5 and problem.code == "return x.view(x.shape[0], 5, -1)", problem
    assert problem.details.index("line 14") < problem.details.index("line 5")
