"""Reading a user's file (config, scenario) with the one-line errors every loader gives."""

from __future__ import annotations

from pathlib import Path


def read_text(path: Path, error: type[Exception], what: str) -> str:
    """The file's text; ``error`` with one line naming the file when it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from None
