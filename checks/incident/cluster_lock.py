"""One operator per cluster on the bastion, whatever the incident directory (issue 11).

The incident's own lock (:class:`checks.incident.seats.OperatorLock`) keeps two operators out of one
incident; this one keeps two incidents from failing one cluster over at once (each would
promote its own standby: two writers). It follows the same flock rules: ``fcntl.flock(LOCK_EX |
LOCK_NB)`` held for the life of the process, released by the kernel when the process dies, even
by kill -9; the lock files are never removed (removing one would let two processes lock two
different files of one name).

Where: one directory every operator of the bastion shares, whatever their incident directory
or Unix user: ``$FAILOVER_COCKPIT_LOCK_DIR``, else ``/run/lock/failover-cockpit`` (``/run/lock``
is world-writable and sticky on Debian, a tmpfs emptied at boot; the subdirectory is made mode
1777 like it). If that cannot be used, ``/tmp/failover-cockpit-locks`` (per machine, not ``$TMPDIR``),
with a warning: operators who do not all use the same one do not meet.

What: a cluster is its nodes, so there is one lock file per node endpoint, all taken in sorted
order or none. A node's endpoints are where the cockpit reaches it (its DSN's host and port) and
where applications do (:attr:`checks.config.model.Node.host` and ``port``, ``app_host``/``app_port`` when
set); loopback names and Unix sockets are one host, ``localhost``. Two configs that share any
node exclude each other whatever they call the cluster, and two labs on other ports never do
(every test lab is called ``lab``). No blocking lock is ever waited on, so the order only makes
the outcome deterministic: of two processes starting together, one gets every file.

Who: the holder's name, host, pid, since and incident directory are written into each lock file
through the held descriptor (a file in a sticky directory cannot be replaced by another user,
so no rename); the files are made mode 0666 so that every operator can lock and describe them
(flock also works on a read-only descriptor, in which case the details stay unknown). The text
is believed only while the lock is held, and only if its pid is alive.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import socket
import stat
import time
from pathlib import Path

from checks.config import endpoints
from checks.config.model import Cluster, Node
from checks.incident.seats import SeatError, holder_alive
from checks.observe.sample import iso_utc, utcnow

ENV = "FAILOVER_COCKPIT_LOCK_DIR"
DEFAULT_DIR = Path("/run/lock/failover-cockpit")
FALLBACK_DIR = Path("/tmp/failover-cockpit-locks")     # per machine (not $TMPDIR, which may be per user)


class ClusterTaken(SeatError):
    """Another incident's operator holds the cluster."""

    def __init__(self, message: str, holder: dict | None) -> None:
        super().__init__(message)
        self.holder = holder


def node_endpoints(node: Node) -> set[str]:
    """Where the cockpit reaches the node (its DSN) and where applications do, as ``host:port``
    (:mod:`checks.config.endpoints` spells them: loopback names and sockets are ``localhost``)."""
    return {f"{host}:{port}" for host, port in endpoints.node_endpoints(node)}


def cluster_endpoints(cluster: Cluster) -> list[str]:
    return sorted(set().union(*(node_endpoints(node) for node in cluster.nodes)))


def lock_file_name(ep: str) -> str:
    readable = re.sub(r"[^A-Za-z0-9_.-]", "_", ep)[:80]
    return f"node-{readable}-{hashlib.sha256(ep.encode()).hexdigest()[:12]}.lock"


def _usable_dir(path: Path) -> None:
    """Make ``path`` (mode 1777) if missing; OSError with the reason if it cannot hold locks."""
    try:
        path.mkdir(mode=0o1777, parents=True)
        os.chmod(path, 0o1777)                  # whatever the umask: every operator's files go here
    except FileExistsError:
        pass
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise OSError(errno.ENOTDIR, "not a real directory (a symbolic link or a file)")
    if not os.access(path, os.W_OK | os.X_OK):
        raise OSError(errno.EACCES, "not writable by this user")


def lock_dir() -> tuple[Path, str | None]:
    """The shared lock directory, and a warning sentence when it is the fallback."""
    chosen = os.environ.get(ENV)
    if chosen:
        path = Path(chosen)
        try:
            _usable_dir(path)
        except OSError as exc:
            raise SeatError(f"{ENV}={chosen}: cannot hold the cluster locks: {exc.strerror or exc}") from None
        return path, None
    try:
        _usable_dir(DEFAULT_DIR)
        return DEFAULT_DIR, None
    except OSError as exc:
        reason = exc.strerror or str(exc)
    fallback = FALLBACK_DIR
    try:
        _usable_dir(fallback)
    except OSError as exc:
        raise SeatError(f"the cluster lock can be kept neither in {DEFAULT_DIR} ({reason}) nor in {fallback} "
                        f"({exc.strerror or exc}): set {ENV} to a directory every operator can write") from None
    return fallback, (f"the cluster lock is kept in {fallback}, not {DEFAULT_DIR} ({reason}): only operators "
                      f"using the same directory exclude each other; set {ENV} to one they all share")


def _open(path: Path) -> int:
    """The lock file, made 0666 if new; never through a symbolic link, never a FIFO or device."""
    flags = os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
    for _ in range(5):
        for mode in (os.O_RDWR, os.O_RDONLY):
            try:
                fd = os.open(path, mode | flags)      # without O_CREAT: fs.protected_regular allows another's file
            except FileNotFoundError:
                break
            except PermissionError:
                continue
            except OSError as exc:
                raise SeatError(f"cannot open the cluster lock {path}: {exc.strerror or exc}") from None
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise SeatError(f"the cluster lock {path} is not a regular file: remove it")
            return fd
        else:
            raise SeatError(f"cannot open the cluster lock {path}: permission denied")
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | flags, 0o666)
        except FileExistsError:
            continue                               # another process made it just now: open theirs
        except OSError as exc:
            raise SeatError(f"cannot create the cluster lock {path}: {exc.strerror or exc}") from None
        os.fchmod(fd, 0o666)                       # whatever the umask: other operators describe it too
        return fd
    raise SeatError(f"cannot open the cluster lock {path}: it keeps appearing and disappearing")


def _read_info(fd: int, *, wait: bool) -> dict | None:
    """The holder's details in the file; while ``wait``, give a holder that just took it time to write them."""
    info = None
    for _ in range(25 if wait else 1):
        try:
            info = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        except (OSError, ValueError):
            info = None
        info = info if isinstance(info, dict) else None
        if holder_alive(info):
            return info
        time.sleep(0.02 if wait else 0)
    return info if holder_alive(info) else None


def _write_info(fd: int, info: dict | None) -> None:
    data = (json.dumps(info, sort_keys=True) + "\n").encode("utf-8") if info else b""
    try:
        os.ftruncate(fd, 0)
        if data:
            os.pwrite(fd, data, 0)
    except OSError:
        pass        # opened read-only (another user's file, not 0666): the details stay unknown


class ClusterLock:
    """The operator's hold on a cluster, for the incident in ``incident``."""

    def __init__(self, cluster_name: str, cluster: Cluster, incident: Path) -> None:
        self.cluster_name = cluster_name
        self.endpoints = cluster_endpoints(cluster)
        self.incident = str(Path(incident).absolute())
        self.warning: str | None = None
        self._fds: list[int] = []
        self._info: dict | None = None

    @property
    def held(self) -> bool:
        return bool(self._fds)

    def _paths(self) -> list[Path]:
        directory, self.warning = lock_dir()
        return [directory / lock_file_name(ep) for ep in self.endpoints]

    def acquire(self, name: str) -> None:
        """Take every node's lock for ``name``, or none: ClusterTaken (one line) naming who holds it and where."""
        if self._fds:
            return
        info = {"name": name, "host": socket.gethostname(), "pid": os.getpid(), "since": iso_utc(utcnow()),
                "incident": self.incident, "cluster": self.cluster_name}
        taken: list[int] = []
        try:
            for path in self._paths():
                fd = _open(path)
                for attempt in range(3):
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        # held; or only probed for a moment by holder() elsewhere: look, then retry
                        holder = _read_info(fd, wait=True)
                        if holder is not None or attempt == 2:
                            os.close(fd)
                            raise ClusterTaken(self._taken_message(holder, path), holder) from None
                    except OSError as exc:
                        os.close(fd)
                        raise SeatError(f"cannot lock the cluster lock {path}: {exc.strerror or exc}") from None
                taken.append(fd)
                _write_info(fd, info)
        except BaseException:
            self._drop(taken)
            raise
        self._fds, self._info = taken, info

    def release(self) -> None:
        """Give the cluster up (dying does the same)."""
        self._drop(self._fds)
        self._fds, self._info = [], None

    @staticmethod
    def _drop(fds: list[int]) -> None:
        for fd in fds:
            _write_info(fd, None)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def holder(self) -> dict | None:
        """Who holds the cluster now (name, host, pid, since, incident), or None if nobody does."""
        if self._fds:
            return dict(self._info or {})
        for path in self._paths():
            try:
                fd = _open(path)
            except SeatError:
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:
                    return _read_info(fd, wait=True) or {}
            finally:
                os.close(fd)     # closing drops a shared lock we may have taken
        return None

    def taken_message(self, holder: dict | None) -> str:
        return self._taken_message(holder, None)

    def _taken_message(self, holder: dict | None, path: Path | None) -> str:
        if not holder:
            where = f" (lock file {path})" if path else ""
            return (f"cluster {self.cluster_name} already has an operator, whose details cannot be read{where}; "
                    "wait until that incident ends")
        incident = holder.get("incident", "?")
        return (f"cluster {self.cluster_name} already has an operator: {holder.get('name', '?')} on "
                f"{holder.get('host', '?')} (pid {holder.get('pid', '?')}) since {holder.get('since', '?')} "
                f"in incident {incident}; join that incident with --incident {incident} --seat observer, "
                "or wait until it ends")

    def __enter__(self) -> ClusterLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
