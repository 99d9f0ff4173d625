"""Files: reading a user's file (config, scenario) with the one-line errors every loader gives, and
replacing a file atomically (the record, the seat's holder file, odoo.conf).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def read_text(path: Path, error: type[Exception], what: str) -> str:
    """The file's text; ``error`` with one line naming the file when it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except UnicodeDecodeError:
        raise error(f"{path}: cannot read: it is not UTF-8 text") from None
    except OSError as exc:     # the reason in words ("is a directory"), not Python's "[Errno 21] ...: 'path'"
        reason = (exc.strerror or type(exc).__name__).lower()
        raise error(f"{path}: cannot read: {reason}") from None


def temp_prefix(name: str) -> str:
    """The prefix of :func:`write_atomic`'s temporary file for a file called ``name``."""
    return f".{name}."


def write_atomic(path: Path, text: str, *, keep_owner: bool = False, sync_dir: bool = False) -> None:
    """Replace ``path`` with ``text``, whole or not at all: a temporary file beside it
    (``.NAME.*.tmp``, mode 0600), fsynced, then renamed over it. ``keep_owner``: the new file keeps
    the mode and owner of the one it replaces (which must exist). ``sync_dir``: the folder is
    fsynced too, so the rename itself survives a crash. On any failure the temporary file is
    removed and the old file is left as it was; the ``OSError`` is raised."""
    path = Path(path)
    st = path.stat() if keep_owner else None
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=temp_prefix(path.name), suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if st is not None:
            os.chmod(tmp, st.st_mode & 0o7777)
            try:
                os.chown(tmp, st.st_uid, st.st_gid)
            except PermissionError:       # not ours to give away: the mode is kept, the owner is us
                pass
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if sync_dir:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
