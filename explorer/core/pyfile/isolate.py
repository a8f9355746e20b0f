"""Inspect a user's Python file in a process of its own, with a time and a memory limit.

:func:`inspect_isolated` forks the calling process (where the system has ``fork``; a fresh
interpreter elsewhere) and runs :func:`~explorer.core.pyfile.analyse.analyse` there, with:

- stdout and stderr captured (the course's ``print(X.shape)`` lines), standard input empty;
- an address-space limit (``RLIMIT_AS``) of the starting size plus :func:`memory_budget`, so
  an allocation without end fails in the user's code with a ``MemoryError``;
- a time limit: past it the process prints where it is (``faulthandler``) and is killed
  with everything it started (its own process group);
- ``faulthandler`` on, so a segmentation fault still says which line of the file ran;
- death with its parent (Linux), so a window that goes never leaves it running.

Whatever the code does (loops, sleeps, ``sys.exit``, ``os._exit``, segfaults, allocates), the
caller gets a :class:`FileReport` back within the time limit and its own process is never
touched. No Qt here; the window's inspection child calls this for every save.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from explorer.core.pyfile.report import OUTPUT_LIMIT, CodeProblem, FileReport, FileRequest

TIME_LIMIT = 10.0
"""Seconds a file may take to be imported, built and inspected."""
SPAWN_START = 30.0
"""Extra seconds a fresh interpreter gets to start (where there is no ``fork``)."""
DUMP_WAIT = 0.3
"""Seconds a process past its time gets to write where it is before it is killed."""

_real_exit = os._exit
_FRAME = re.compile(r'File "(?P<file>.+)", line (?P<line>\d+)')


def memory_budget() -> int:
    """Bytes of address space the inspection may add: half the machine's memory, between
    1 and 8 GiB."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 * 2**30
    return int(min(8 * 2**30, max(2**30, total // 2)))


def can_fork() -> bool:
    return hasattr(os, "fork") and sys.platform != "win32"


def inspect_isolated(request: FileRequest, *, time_limit: float = TIME_LIMIT,
                     memory_limit: int | None = None, close_fds: tuple[int, ...] = (),
                     fork: bool | None = None) -> FileReport:
    """Inspect ``request`` in a child process; never raises for what the code does.

    Parameters
    ----------
    time_limit : seconds before the child is stopped (reported as a ``timeout`` problem).
    memory_limit : bytes the child may add to its address space (:func:`memory_budget`).
    close_fds : descriptors of the caller the child must not keep (its pipes).
    fork : force (``True``) or avoid (``False``) forking; by default fork where possible.
    """
    limit = memory_limit if memory_limit is not None else memory_budget()
    start = time.perf_counter()
    if fork if fork is not None else can_fork():
        warm_up()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryFile() as dump:
        files = (out, err, dump)
        if fork if fork is not None else can_fork():
            data, ended = _forked(request, time_limit, limit, close_fds, files)
        else:
            data, ended = _spawned(request, time_limit, limit, files)
        report = _outcome(request, data, ended, time_limit, limit, _tail(dump))
        report.stdout, report.stderr = _tail(out), _tail(err)
    report.seconds = time.perf_counter() - start
    return report


# --------------------------------------------------------------------------- fork

_warm = False


def warm_up() -> None:
    """Load, once in the parent, what every child would otherwise load again: torch, and
    the modules PyTorch imports on the first functional layer run on the meta device
    (seconds, for ``F.relu``)."""
    global _warm
    if _warm:
        return
    import torch
    import torch.nn.functional as F

    from explorer.core import inspector  # noqa: F401
    from explorer.core.registry import load_registries

    load_registries()
    x = torch.empty(1, 1, 4, 4, device="meta")
    for fn in (F.relu, torch.sigmoid, torch.tanh, F.gelu):
        fn(x)
    F.max_pool2d(x, 2)
    F.avg_pool2d(x, 2)
    F.adaptive_avg_pool2d(x, 1)
    torch.flatten(x, 1)
    _warm = True


def _forked(request, time_limit, limit, close_fds, files) -> tuple[bytes, str]:
    out, err, dump = files
    read_fd, write_fd = os.pipe()
    for stream in (sys.stdout, sys.stderr):  # not to be written twice by the child
        with contextlib.suppress(Exception):
            stream.flush()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.close(read_fd)
            os.setpgid(0, 0)
            _die_with(parent)
            _redirect(out.fileno(), err.fileno(), close_fds)
            write_result(write_fd, _run_limited(request, limit, dump, time_limit))
        except BaseException:  # noqa: BLE001 (the parent reports a child without a result)
            code = 70
            with contextlib.suppress(Exception):
                import traceback

                traceback.print_exc()
                sys.stderr.flush()
        finally:
            _real_exit(code)
    os.close(write_fd)
    try:
        data, timed_out = _read_until(read_fd, time.monotonic() + time_limit)
    finally:
        os.close(read_fd)
    if timed_out:
        _stop(pid, dump)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)  # anything it started
    _, status = os.waitpid(pid, 0)
    return data, "timeout" if timed_out else _status_text(status)


def _read_until(fd: int, deadline: float) -> tuple[bytes, bool]:
    chunks = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return b"".join(chunks), True
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return b"".join(chunks), False
            chunks.append(chunk)


def _stop(pid: int, dump) -> None:
    """Ask a process past its time where it is (faulthandler), then kill its group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGUSR1)
        end = time.monotonic() + DUMP_WAIT
        while time.monotonic() < end and os.fstat(dump.fileno()).st_size == 0:
            time.sleep(0.01)
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _status_text(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit {os.WEXITSTATUS(status)}"


def _die_with(parent: int) -> None:
    """End this process when ``parent`` ends (Linux's parent-death signal)."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        _real_exit(1)


def _redirect(out: int, err: int, close_fds: tuple[int, ...]) -> None:
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(out, 1)
    os.dup2(err, 2)
    for fd in close_fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    sys.stdin = open(0, closefd=False, encoding="utf-8")  # noqa: SIM115
    sys.stdout = open(1, "w", closefd=False, encoding="utf-8", errors="replace",  # noqa: SIM115
                      buffering=1)
    sys.stderr = open(2, "w", closefd=False, encoding="utf-8", errors="replace",  # noqa: SIM115
                      buffering=1)


def _run_limited(request: FileRequest, limit: int, dump, time_limit: float) -> FileReport:
    """In the child: limits on, then :func:`analyse`."""
    import faulthandler

    faulthandler.enable(file=dump, all_threads=False)
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, file=dump, all_threads=False)
    if hasattr(signal, "alarm"):
        signal.alarm(int(time_limit) + 5)  # a backstop, should the parent be stuck
    _limit_memory(limit)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    from explorer.core.pyfile.analyse import analyse

    report = analyse(request)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    return report


def _limit_memory(limit: int) -> None:
    try:
        import resource
    except ImportError:  # not on this system: only the time limit applies
        return
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    current = _address_space()
    if current is None:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = current + limit
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))


def _address_space() -> int | None:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def write_result(fd: int, report: FileReport) -> None:
    data = pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    os.close(fd)


# --------------------------------------------------------------------------- spawn


def _spawned(request, time_limit, limit, files) -> tuple[bytes, str]:
    """A fresh interpreter (systems without ``fork``): the request on its stdin, the report
    in a file."""
    out, err, dump = files
    with tempfile.TemporaryDirectory() as folder:
        result = Path(folder) / "report.pickle"
        root = str(Path(__file__).resolve().parents[3])
        env = dict(os.environ)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH")
                                    else "")
        child = subprocess.Popen(
            [sys.executable, "-m", "explorer.core.pyfile.isolate", str(result), str(limit),
             str(time_limit)],
            stdin=subprocess.PIPE, stdout=out, stderr=err, env=env)
        try:
            child.stdin.write(pickle.dumps(request))
            child.stdin.close()
        except OSError:
            pass
        try:
            child.wait(time_limit + SPAWN_START)
            ended = f"exit {child.returncode}" if child.returncode >= 0 else \
                f"signal {-child.returncode}"
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            ended = "timeout"
        data = result.read_bytes() if result.is_file() else b""
        dump.write(b"")
    return data, ended


def main(argv: list[str]) -> None:
    """The spawned child: ``python -m explorer.core.pyfile.isolate REPORT LIMIT SECONDS``."""
    request = pickle.loads(sys.stdin.buffer.read())
    report = _run_limited(request, int(argv[1]), sys.stderr, float(argv[2]))
    Path(argv[0]).write_bytes(pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL))


# --------------------------------------------------------------------------- outcome


def _outcome(request: FileRequest, data: bytes, ended: str, time_limit: float, limit: int,
             dump: str) -> FileReport:
    if data:
        try:
            report = pickle.loads(data)
        except Exception:  # noqa: BLE001 (a truncated result: the child died writing it)
            report = None
        if isinstance(report, FileReport):
            if report.problem is not None and report.problem.kind == "memory":
                report.problem.hint = report.problem.hint or (
                    f"the inspection lets a file use {limit / 2**30:.1f} GiB more memory; "
                    "allocate less (or only inside if __name__ == '__main__':)")
            return report
    report = FileReport(request.path, request.target,
                        input_shape=tuple(request.input_shape or (1, 28, 28)))
    report.problem = _died(request, ended, time_limit, dump)
    return report


def _died(request: FileRequest, ended: str, time_limit: float, dump: str) -> CodeProblem:
    """The problem of a child that gave no result: past its time, killed or ended."""
    name = Path(request.path).name
    if ended == "timeout":
        problem = CodeProblem(
            "timeout", f"{name} did not finish within {time_limit:g} s and was stopped",
            hint="an endless loop, a long sleep or a wait for input? Training code belongs "
                 "inside if __name__ == '__main__':")
    elif ended.startswith("signal"):
        number = int(ended.split()[1])
        what = _signal_name(number)
        problem = CodeProblem(
            "memory" if number == signal.SIGKILL else "crash",
            f"the process running {name} crashed ({what})",
            hint="the file (or a library it calls) crashed the Python process; the window "
                 "is not affected")
    else:
        code = ended.split()[1] if " " in ended else "?"
        problem = CodeProblem("exit", f"{name} ended the process with exit code {code}",
                              hint="remove the exit (os._exit, sys.exit) from the file")
    file, line = _dumped_line(dump, request.path)
    if line is not None:
        problem.file, problem.line = file, line
        problem.code = _source_line(request, file, line)
        problem.details = _user_dump(dump, request.path)
    elif ended.startswith("exit 70"):
        problem.message = f"the inspection of {name} failed (a bug of the app; see stderr)"
        problem.hint = ""
    return problem


def _user_dump(dump: str, path: str) -> str:
    """A faulthandler dump with only the frames of the user's code (and its first line)."""
    from explorer.core.pyfile.source import _is_user_file

    lines = dump.strip().splitlines()
    kept = [lines[0]] if lines and not _FRAME.search(lines[0]) else []
    kept += [line for line in lines if (m := _FRAME.search(line))
             and _is_user_file(m["file"], path)]
    return "\n".join(kept)


def _signal_name(number: int) -> str:
    try:
        name = signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
    words = {"SIGSEGV": "a segmentation fault", "SIGABRT": "aborted", "SIGBUS": "a bus error",
             "SIGFPE": "a floating-point exception", "SIGILL": "an illegal instruction",
             "SIGKILL": "killed, most likely out of memory"}
    return f"{words.get(name, name)}, signal {number}"


def _dumped_line(dump: str, path: str) -> tuple[str, int | None]:
    """The innermost frame of the user's code in a faulthandler dump (most recent first)."""
    from explorer.core.pyfile.source import _is_user_file

    for match in _FRAME.finditer(dump):
        if _is_user_file(match["file"], path):
            return match["file"], int(match["line"])
    return path, None


def _source_line(request: FileRequest, file: str, line: int) -> str:
    try:
        same = Path(file).resolve() == Path(request.path).resolve()
    except OSError:
        same = False
    try:
        text = request.source if same and request.source is not None else \
            Path(file).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    lines = text.splitlines()
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def _tail(stream) -> str:
    """The last :data:`OUTPUT_LIMIT` characters written to a captured stream."""
    stream.flush()
    size = os.fstat(stream.fileno()).st_size
    stream.seek(max(0, size - OUTPUT_LIMIT * 4))
    text = stream.read().decode("utf-8", errors="replace")
    return text[-OUTPUT_LIMIT:]


if __name__ == "__main__":
    main(sys.argv[1:])
