"""``failover-cockpit tmux``: one tmux session per incident, an operator window and a scribe window.

The second person joins with a *grouped* session, so both share the windows but each
looks at their own: the operator at ``operator``, the scribe at ``scribe``. A directory that is
not an incident's, or a cluster another incident's operator holds, is refused here, in one line,
before any window opens.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from cli.console import print_error


def session_name(incident: Path) -> str:
    return "ofc-" + re.sub(r"[^A-Za-z0-9_-]", "-", incident.resolve().name)


def _cockpit(config: Path, cluster: str | None, incident: Path, seat: str, name: str) -> list[str]:
    argv = [sys.executable, "-m", "cli", "run", str(config), "--incident", str(incident), "--seat", seat, "--name", name]
    return argv + (["--cluster", cluster] if cluster else [])


def _refusal(config: Path, cluster: str | None, incident: Path) -> str | None:
    """Why the operator's window would be refused, said here (a refused pane closes with its message):
    the directory is not an incident's or is a link (checked before anything follows it), or another
    incident's operator holds the cluster."""
    from checks.config.model import ConfigError, load_config
    from checks.incident.cluster_lock import ClusterLock
    from checks.incident.directory import prepare_incident_dir
    from checks.incident.journal import JournalError
    from checks.incident.seats import SeatError

    try:
        if incident.exists() or incident.is_symlink():
            prepare_incident_dir(incident, create=False)   # a new one is made by the operator's cockpit
        name, loaded = load_config(config).cluster(cluster)
        lock = ClusterLock(name, loaded, incident.resolve())
        holder = lock.holder()
    except (JournalError, ConfigError, SeatError) as exc:
        return str(exc)
    if holder is not None and holder.get("incident") != lock.incident:
        return lock.taken_message(holder)
    return None


def run_tmux(config: Path, cluster: str | None, incident: Path, *, operator: str, scribe: str,
             attach: bool) -> int:
    if shutil.which("tmux") is None:
        print("failover-cockpit: tmux is not installed (on Debian: apt-get install -y tmux)", file=sys.stderr)
        return 1
    refusal = _refusal(config, cluster, incident)
    if refusal:
        print_error(refusal)
        return 1
    config, incident = config.resolve(), incident.resolve()
    name = session_name(incident)
    exists = subprocess.run(["tmux", "has-session", "-t", f"={name}"], capture_output=True).returncode == 0
    if not exists:
        cwd = str(Path.cwd())
        subprocess.run(["tmux", "new-session", "-d", "-s", name, "-n", "operator", "-c", cwd, "-x", "200", "-y", "50",
                        *_cockpit(config, cluster, incident, "operator", operator)], check=True)
        subprocess.run(["tmux", "new-window", "-d", "-t", f"={name}:", "-n", "scribe", "-c", cwd,
                        *_cockpit(config, cluster, incident, "scribe", scribe)], check=True)
    print(f"{'re-using' if exists else 'created'} tmux session {name}: windows 'operator' and 'scribe'")
    print(f"the scribe joins with:  tmux new-session -t {name} -s {name}-scribe \\; select-window -t scribe")
    print(f"the operator attaches:  tmux attach -t {name} \\; select-window -t operator")
    if attach and sys.stdin.isatty() and sys.stdout.isatty() and "TMUX" not in os.environ:
        os.execvp("tmux", ["tmux", "attach", "-t", name, ";", "select-window", "-t", "operator"])
    return 0
