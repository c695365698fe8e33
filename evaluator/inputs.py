"""Reading user files: one clear error naming the file and the problem."""

from __future__ import annotations

import sys
from pathlib import Path

from evaluator.config import MAX_ANSWER_CHARS
from evaluator.errors import InputError


def read_text_file(path: str | Path, max_chars: int | None = MAX_ANSWER_CHARS, what: str = "answer") -> str:
    """Read a UTF-8 text file ('-' = stdin). Rejects missing, empty, binary and oversized input."""
    name = str(path)
    if name == "-":
        data = sys.stdin.buffer.read()
        name = "<stdin>"
    else:
        p = Path(path)
        if not p.exists():
            raise InputError(f"{name}: file not found")
        if p.is_dir():
            raise InputError(f"{name}: is a directory, expected a text file")
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise InputError(f"{name}: cannot read ({exc.strerror})") from exc
    if b"\x00" in data[:8192]:
        raise InputError(f"{name}: looks like a binary file, expected UTF-8 text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not valid UTF-8 text (byte {exc.start})") from exc
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InputError(f"{name}: the {what} is empty")
    if max_chars is not None and len(text) > max_chars:
        raise InputError(f"{name}: {len(text)} characters; the limit for one {what} is {max_chars}")
    return text
