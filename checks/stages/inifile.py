"""Rewriting keys of an ini file in place: every other byte stays as it was (written with checks.config.files.write_atomic)."""

from __future__ import annotations

import re

_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")


def set_keys(text: str, section: str, values: dict[str, str]) -> str:
    """Set ``key = value`` for each of ``values`` in ``[section]``; add missing keys at the section's end."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    current = None
    done: set[str] = set()
    insert_at: int | None = None
    for line in lines:
        header = _SECTION.match(line.rstrip("\r\n"))
        if header:
            if current == section:
                insert_at = len(out)
                while insert_at > 0 and not out[insert_at - 1].strip():
                    insert_at -= 1
            current = header.group(1).strip()
            out.append(line)
            continue
        key = line.split("=", 1)[0].strip() if "=" in line and not line.lstrip().startswith((";", "#")) else None
        if current == section and key in values:
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}{key} = {values[key]}\n")
            done.add(key)
            continue
        out.append(line)
    if current == section:
        insert_at = len(out)
    missing = [f"{k} = {v}\n" for k, v in values.items() if k not in done]
    if missing:
        if insert_at is None:
            if out and not out[-1].endswith("\n"):
                out.append("\n")
            out.append(f"[{section}]\n")
            insert_at = len(out)
        out[insert_at:insert_at] = missing
    return "".join(out)
