"""User files the Python-file tests (core, CLI and window) write and open."""

from __future__ import annotations

import textwrap
from pathlib import Path

COURSE_NET = '''\
import torch
import torch.nn.functional as F
from torch import nn


class Net(nn.Module):
    """The course's CNN for MNIST."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.pooling = nn.MaxPool2d(2)
        self.fc = nn.Linear(320, 10)

    def forward(self, x):
        batch_size = x.size(0)
        x = F.relu(self.pooling(self.conv1(x)))
        x = F.relu(self.pooling(self.conv2(x)))
        print("after conv2", x.shape)
        x = x.view(batch_size, -1)
        return self.fc(x)


print("module level")
'''
COURSE_NET_PARAMS = 260 + 5020 + 3210
"""conv1 10·(25+1), conv2 20·(250+1), fc 10·(320+1)."""

WRONG_LINEAR = COURSE_NET.replace("nn.Linear(320, 10)", "nn.Linear(1600, 10)")
WRONG_LINEAR_LINE = 22  # return self.fc(x)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


BAD_FILES = {
    # name: (source, problem kind, line, words in the message)
    "syntax": (("from torch import nn\n\nclass Net(nn.Module):\n    def __init__(self):\n"
               "        super().__init__()\n        self.fc = nn.Linear(10, 10\n"),
               "syntax", 6, ["SyntaxError"]),
    "import": ("from torch import nn\nimport numpyy\n", "import", 2,
               ["ModuleNotFoundError", "numpyy"]),
    "init": (("from torch import nn\n\nclass Net(nn.Module):\n    def __init__(self):\n"
             "        super().__init__()\n        self.fc = nn.Linear(4, width)\n"),
             "construct", 6, ["NameError", "width"]),
    "forward": (WRONG_LINEAR, "forward", WRONG_LINEAR_LINE, ["1600"]),
    # one line: stopped at its limit, the loop is on it whichever bytecode it was at
    "loop": ("from torch import nn\nn = 0\nwhile True: n += 1\n", "timeout", 3,
             ["did not finish"]),
    "sys_exit": ("import sys\nfrom torch import nn\nsys.exit(3)\n", "exit", 3, ["sys.exit(3)"]),
    "os_exit": ("import os\nfrom torch import nn\nnet = nn.Linear(2, 2)\nos._exit(3)\n", "exit",
                4, ["os._exit(3)"]),
    "segfault": ("import ctypes\nfrom torch import nn\nctypes.string_at(0)\n", "crash", 3,
                 ["segmentation fault"]),
    "memory": ("from torch import nn\nblock = bytearray(10 * 2**30)\n", "memory", 2,
               ["MemoryError"]),
}
