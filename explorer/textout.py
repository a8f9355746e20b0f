"""Text that is safe to print: control characters from names and files are shown, not obeyed.

A network name, a file name or a message quoting a file may hold escape sequences
(``ESC[2J`` clears a terminal, ``ESC]0;…BEL`` retitles it), other control characters, or
bidirectional overrides that make text read backwards. Everything the command line prints goes
through :func:`clean` (the CLI wraps its output streams in :class:`CleanStream`), which keeps
newlines and tabs and writes every other such character as a JSON-style escape (``\\u001b``),
so JSON output stays valid JSON with the same meaning.
"""

from __future__ import annotations

import re
from typing import TextIO

# C0 controls except tab and newline, DEL, C1 controls, the line/paragraph separators, the
# bidirectional marks, embeddings, overrides and isolates, and lone surrogates (from file
# names that are not valid UTF-8)
_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069" \
          "\ud800-\udfff"
_CONTROL = re.compile(f"[{_UNSAFE}]")
_CONTROL_ONE_LINE = re.compile(f"[\t\n{_UNSAFE}]")


def _escape(match: re.Match) -> str:
    return f"\\u{ord(match.group()):04x}"


def clean(text: object, *, one_line: bool = False) -> str:
    """``str(text)`` with control characters written as escapes (``\\u001b``, ``\\u202e``).

    Tabs and newlines are kept unless ``one_line``, which escapes them too (for a name shown
    inside a line of text).
    """
    pattern = _CONTROL_ONE_LINE if one_line else _CONTROL
    return pattern.sub(_escape, str(text))


class OutputError(OSError):
    """Writing to the output failed (a full disk, ``> /dev/full``, a closed terminal)."""


class CleanStream:
    """A text stream that passes everything written to it through :func:`clean`.

    The command line wraps ``sys.stdout`` and ``sys.stderr`` in it while a command runs, so
    no print path can forget; a progress bar, which must move the cursor, writes to
    :attr:`raw`.
    """

    def __init__(self, raw: TextIO) -> None:
        self.raw = raw

    def write(self, text: str) -> int:
        try:
            return self.raw.write(clean(text))
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputError(exc.errno, exc.strerror) from exc

    def flush(self) -> None:
        try:
            self.raw.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputError(exc.errno, exc.strerror) from exc

    def __getattr__(self, name: str):  # flush, isatty, fileno, encoding, buffer …
        return getattr(self.raw, name)
