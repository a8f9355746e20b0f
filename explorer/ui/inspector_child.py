"""The shape inspector in a child process, so that its work never holds the window's GIL.

Run as ``python -m explorer.ui.inspector_child``: it reads jobs from stdin and writes results
to stdout, each a length-prefixed pickle frame (only ever exchanged with the window process
that started it). A job is ``("spec", json_text)``, ``("torchvision", name)`` or ``("file",
(FileRequest, time_limit, generation))``; a result is ``("ok", summary or FileReport,
seconds)`` or ``("error", traceback_text)``. EOF on stdin ends it. No Qt here.

A user's Python file is never imported here: each ``file`` job runs in a forked child of this
process (:func:`explorer.core.pyfile.isolate.inspect_isolated`), which is stopped at its time
limit, or at once when a newer generation is written on the cancel pipe (``--cancel-fd``).
"""

from __future__ import annotations

import os
import pickle
import struct
import sys
import time
import traceback
from typing import BinaryIO

_HEADER = struct.Struct("!Q")


def write_frame(stream: BinaryIO, value) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def read_frame(stream: BinaryIO):
    """The next value, or ``EOFError`` when the other side has gone."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    size = _HEADER.unpack(header)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def serve(jobs: BinaryIO, results: BinaryIO, cancel_fd: int | None = None) -> None:
    """Answer jobs until ``jobs`` ends."""
    from explorer.core.inspector import inspect_spec, inspect_torchvision
    from explorer.core.registry import load_registries
    from explorer.core.spec import ArchitectureSpec

    load_registries()

    while True:
        try:
            kind, payload = read_frame(jobs)
        except EOFError:
            return
        start = time.perf_counter()
        try:
            if kind == "torchvision":
                summary = inspect_torchvision(payload)
            elif kind == "file":
                summary = _inspect_file(payload, (jobs, results), cancel_fd)
            else:
                summary = inspect_spec(ArchitectureSpec.from_json(payload))
        except Exception:  # noqa: BLE001 (a bug: reported to the window, the loop goes on)
            write_frame(results, ("error", traceback.format_exc()))
            continue
        write_frame(results, ("ok", summary, time.perf_counter() - start))


def _inspect_file(payload, pipes, cancel_fd: int | None):
    """A user's file, inspected in a forked child that keeps none of our pipes."""
    from explorer.core.pyfile.isolate import inspect_isolated

    request, time_limit, generation = payload
    own = tuple(p.fileno() for p in pipes)
    return inspect_isolated(request, time_limit=time_limit, close_fds=own,
                            cancel_fd=cancel_fd, generation=generation)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    cancel_fd = int(argv[argv.index("--cancel-fd") + 1]) if "--cancel-fd" in argv else None
    results = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr  # nothing but frames on the results pipe
    serve(sys.stdin.buffer, results, cancel_fd)


if __name__ == "__main__":
    main()
