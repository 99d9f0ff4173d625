"""Registering every secret a config can reach, so none of them is ever shown, journaled or logged.

Not only the DSNs are masked: a password pasted into a note, or echoed by a command,
is masked too, because every known secret is registered with :mod:`checks.config.redact`.
"""

from __future__ import annotations

import os
from pathlib import Path

from checks.config.redact import dsn_password, remember_secret


def _passfile_passwords(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#"):
            fields = line.replace("\\:", "\0").split(":")
            if len(fields) >= 5:
                found.append(":".join(fields[4:]).replace("\0", ":").replace("\\\\", "\\"))
    return found


def _passfiles(dsns: list[str]) -> set[Path]:
    from checks.config.conninfo import DsnError, parse_dsn

    files = set()
    for dsn in dsns:
        try:
            passfile = parse_dsn(dsn).get("passfile")
        except DsnError:
            continue
        if passfile:
            files.add(Path(passfile))
    if os.environ.get("PGPASSFILE"):
        files.add(Path(os.environ["PGPASSFILE"]))
    files.add(Path.home() / ".pgpass")
    return files


def remember_config_secrets(model) -> None:
    """Register inline DSN passwords, password_env values, passfile passwords and the Odoo probe secret."""
    dsns, envs = [], []
    for cluster in model.clusters.values():
        for item in [*cluster.nodes, *cluster.pgbouncers]:
            dsns.append(getattr(item, "dsn", None) or item.admin_dsn)
            envs.append(item.password_env)
        if cluster.odoo is not None:
            envs.append(cluster.odoo.password_env)
            if cluster.odoo.password_file:
                try:
                    remember_secret(Path(cluster.odoo.password_file).read_text(encoding="utf-8").strip())
                except OSError:
                    pass
    for dsn in dsns:
        remember_secret(dsn_password(dsn))
    for env in envs:
        if env:
            remember_secret(os.environ.get(env))
    for passfile in _passfiles(dsns):
        for password in _passfile_passwords(passfile):
            remember_secret(password)
