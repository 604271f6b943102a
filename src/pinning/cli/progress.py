"""A one-line progress display on a terminal: rewritten in place with ``\\r``, never piped.

The line goes to standard error, and only when standard error is a terminal, so a log or a pipe
receives nothing of it. Output that must stay (a host's verdict) is printed after :meth:`clear`.
"""

from __future__ import annotations

import shutil
from typing import TextIO

__all__ = ["Progress"]

_ERASE = "\r\x1b[K"  # to the start of the line, then erase to its end


class Progress:
    """The progress line on ``stream``; does nothing unless ``stream`` is a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        try:
            self.enabled = stream.isatty()
        except (AttributeError, ValueError):  # a closed or file-less stream
            self.enabled = False
        self._shown = False

    def show(self, text: str) -> None:
        """Replace the line with ``text``, cut to the terminal's width (a wrapped line stays)."""
        if not self.enabled:
            return
        width = shutil.get_terminal_size().columns - 1
        if len(text) > width:
            text = text[: max(width - 3, 0)] + "..."
        self.stream.write(_ERASE + text)
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        """Erase the line, if one is shown."""
        if self._shown:
            self.stream.write(_ERASE)
            self.stream.flush()
            self._shown = False
