"""A network from a user's Python file, frozen for training: the code that was inspected.

The training worker (and the CLI's ``train``/``export``) build the model from
:class:`FileNetwork` in the app's own process: the file's text as it was inspected (not as
it may be on disk by then) runs again as a fresh module. It stands in for an
:class:`~explorer.core.spec.ArchitectureSpec` where training needs one: a name, the input
shape, the class count and a JSON description for run folders and checkpoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explorer.core.pyfile.report import CodeProblem

FORMAT = "network-explorer/python-file"


class FileNetworkError(ValueError):
    """The file's network could not be built here; the message names the line."""


@dataclass(frozen=True)
class FileNetwork:
    """``target`` in the file ``path`` as its text ``source`` defines it, for an input of
    ``input_shape`` and ``num_classes`` outputs."""

    path: str
    source: str
    target: str
    input_shape: tuple[int, ...]
    num_classes: int
    init: str = "default"
    description: str = ""

    @property
    def name(self) -> str:
        return f"{Path(self.path).stem}.{self.target}"

    def build(self, device: Any = "cpu"):
        """A fresh model (the file's code runs again, in this process) on ``device``.

        Raises
        ------
        FileNetworkError
            When the code fails now (its message names the line).
        """
        from explorer.core.pyfile import source as src

        try:
            module = src.exec_source(self.path, self.source)
            return src.make_network(module, self.target, self.path).to(device)
        except KeyboardInterrupt:
            raise
        except src._Problem as exc:
            raise FileNetworkError(exc.problem.one_line()) from None
        except BaseException as exc:  # noqa: BLE001 (sys.exit in the file, too)
            problem: CodeProblem = src.problem_from(exc, self.path, "construct")
            raise FileNetworkError(f"{self.name} could not be built: "
                                   f"{problem.one_line()}") from None

    def to_dict(self) -> dict:
        from explorer.core.pyfile.source import digest

        return {"format": FORMAT, "name": self.name, "path": str(Path(self.path).resolve()),
                "target": self.target, "input_shape": list(self.input_shape),
                "num_classes": self.num_classes, "sha256": digest(self.source)}


def build_network(network, device: Any = "cpu"):
    """The model of an :class:`ArchitectureSpec` or a :class:`FileNetwork`, on ``device``."""
    if isinstance(network, FileNetwork):
        return network.build(device)
    from explorer.core.builder import build_model

    return build_model(network, device=device)
