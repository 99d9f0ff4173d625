"""Turning a config problem into one line that names the file, the key path and the line."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from pydantic import BaseModel, ValidationError

from checks.config.suggest import closest, unknown_key_message
from checks.errors import CockpitError

SAMPLE = "sample-clusters.toml"


class ConfigError(CockpitError):
    """A config problem, already phrased as one line for the user."""

    def __str__(self) -> str:
        return self.args[0] if self.args else "config error"


_FRIENDLY = {
    "extra_forbidden": "unknown key",
    "missing": "required key is missing",
}


def no_such_config(path: Path) -> str:
    """The line for a config file that is not there, with the command that starts one from the sample:
    ``cp`` when the sample is in the current folder (a source tree), else ``failover-cockpit sample-config``."""
    target = shlex.quote(str(path))
    start = f"cp {SAMPLE} {target}" if Path(SAMPLE).is_file() else f"failover-cockpit sample-config > {target}"
    return f"{path}: no such config file; start from the sample: {start} (then edit its nodes)"


def describe_validation_error(path: Path, text: str, exc: ValidationError,
                              model: type[BaseModel] | None = None) -> str:
    """The first error of ``exc`` as ``file:line: key.path: message`` (plus a count of the others).
    ``model`` (the validated model) lets an unknown key name the key it is closest to."""
    errors = exc.errors(include_url=False)
    first = _first(errors)
    loc = [str(p) for p in first["loc"]]
    message = unknown_key_message(model, first["loc"]) if first["type"] == "extra_forbidden" else _message(first)
    line = locate(text, first["loc"])
    where = f"{path}:{line}" if line else str(path)
    key = ".".join(_key_part(p) for p in loc) if loc else "(top level)"
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    line = f"{where}: {key}: {message}{more}"
    return line.replace("\r", "\\r").replace("\n", "\\n")       # one line, whatever the file holds


def _first(errors: list[dict]) -> dict:
    """The error to tell: the first, unless it is a missing key that a misspelt key beside it
    meant (``dns`` for ``dsn``): then the misspelt key, the cause."""
    first = errors[0]
    if first["type"] != "missing" or not first["loc"]:
        return first
    parent, wanted = tuple(first["loc"][:-1]), str(first["loc"][-1])
    for err in errors[1:]:
        loc = tuple(err["loc"])
        if err["type"] == "extra_forbidden" and loc[:-1] == parent and closest(str(loc[-1]), [wanted]):
            return err
    return first


def _key_part(part: str) -> str:
    """A key as written in TOML: plain names as they are, anything else quoted."""
    return part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else repr(part)


def _message(err: dict) -> str:
    kind = err["type"]
    if kind in _FRIENDLY:
        return _FRIENDLY[kind]
    msg = str(err["msg"])
    if kind == "list_type" and isinstance(err.get("input"), str):
        return "commands are argv lists of strings, never a shell string (write [\"prog\", \"arg\"])"
    if kind == "string_pattern_mismatch":
        return f"{err.get('input')!r} is not allowed here (letters, digits, '_', '.', '-'; starting with a letter)"
    return msg.removeprefix("Value error, ")


def locate(text: str, loc: tuple) -> int | None:
    """Best-effort line number of a key path in TOML text (tables, arrays of tables and keys)."""
    lines = text.splitlines()
    table: list[str] = []
    counts: dict[str, int] = {}
    best: tuple[int, int] | None = None
    wanted = list(loc)
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", stripped)
        if header:
            table = [part.strip().strip('"') for part in header.group(1).split(".")]
            if stripped.startswith("[["):
                key = ".".join(table)
                counts[key] = counts.get(key, -1) + 1
                table = table + [counts[key]]
            if _prefix(table, wanted):
                best = _better(best, len(table), number)
            continue
        keymatch = re.match(r"^([A-Za-z0-9_\"-]+)\s*=", stripped)
        if keymatch and _prefix(table + [keymatch.group(1).strip('"')], wanted):
            best = _better(best, len(table) + 1, number)
    return best[1] if best else None


def _better(best: tuple[int, int] | None, depth: int, number: int) -> tuple[int, int]:
    return (depth, number) if best is None or depth >= best[0] else best


def _prefix(have: list, wanted: list) -> bool:
    if not have or len(have) > len(wanted):
        return False
    return all(str(h) == str(w) for h, w in zip(have, wanted))
