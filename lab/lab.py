"""The Lab: bring a local cluster up and down, report it, and inject faults."""

from __future__ import annotations

import os
import shutil
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from . import clusters_toml, credentials, odoo, pgbouncer, postgres, proxies, reprotect
from .errors import LabError
from .layout import LabPaths, LabState, NodeSpec
from .processes import check_traversable, give_away, lab_processes, require_free, send, terminate


def parallel(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run jobs in threads; re-raise the first failure after all have finished."""
    if len(jobs) <= 1:
        return [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = [pool.submit(job) for job in jobs]
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        raise errors[0]
    return [f.result() for f in futures]


class Lab:
    """A local lab in one folder: PostgreSQL primary + standbys, PgBouncer, proxies, Odoo stand-in."""

    def __init__(self, dir: Path) -> None:
        self.dir = Path(dir).expanduser().absolute()
        self.paths = LabPaths(self.dir)

    # ---- up / down ---------------------------------------------------------

    def up(self, base_port: int = 54320, replicas: int = 2) -> list[str]:
        """Build the lab, or if it exists make sure every process of it runs (SIGCONT
        for frozen ones, a start for stopped ones; a partition of a live proxy stays).
        Returns a line per node held back: a stopped old primary is never started beside the
        current one (that is a second writer); `lab start NODE` still does it, as a fault."""
        state = self.paths.load()
        if state is not None and state.status == "ready":
            if (state.base_port, state.replicas) != (base_port, replicas):
                raise LabError(f"the lab in {self.dir} was made with --base-port {state.base_port} "
                               f"--replicas {state.replicas}; use those, or another --dir for a new lab")
            return self._ensure_running(state)
        plan = LabState.plan(base_port, replicas)
        if state is not None:
            self._discard_failed_build(state)
        elif self.dir.exists() and any(self.dir.iterdir()):
            raise LabError(f"{self.dir} is not empty and holds no lab.json; choose another --dir")
        for port, purpose in plan.ports():
            require_free(port, purpose)
        check_traversable(self.dir)
        self.paths.check_socket_paths(plan)
        try:
            self.dir.mkdir(mode=0o755, parents=True, exist_ok=True)
        except OSError as exc:
            raise LabError(f"cannot create {self.dir}: {exc.strerror}; choose another --dir") from None
        check_traversable(self.dir)
        try:
            self._build(plan)
        except BaseException:
            self._stop_everything(plan)
            raise
        return []

    def _build(self, state: LabState) -> None:
        paths = self.paths
        for directory in (paths.run, paths.proxy_dir, paths.pgb_dir, paths.odoo_dir):
            directory.mkdir(mode=0o755, exist_ok=True)
        paths.run.chmod(0o755)
        give_away(self.dir, recursive=True)
        paths.save(state)
        primary, standbys = state.nodes[0], state.nodes[1:]
        passwords = credentials.new_passwords()
        postgres.init_primary(paths, primary)
        postgres.start(paths, primary)
        postgres.psql(primary.port, self._roles_sql(passwords), what=f"creating roles on {primary.name}")
        proxy_procs = [(node, proxies.launch(paths, node)) for node in state.nodes]
        credentials.write_pgpass(paths, state, passwords)
        pgbouncer.write_files(paths, state, passwords)
        clusters_toml.write(paths, state)
        jobs: list[Callable[[], Any]] = [lambda n=n: self._make_standby(n, primary) for n in standbys]
        jobs.append(lambda: pgbouncer.start(paths, state))
        parallel(jobs)
        odoo.set_up(paths, state)  # needs PgBouncer
        odoo_proc = odoo.launch(paths, state)
        state.proxies = {node.name: proxies.wait_ready(paths, node, proc) for node, proc in proxy_procs}
        paths.save(state)
        state.odoo_pid = odoo.wait_ready(paths, state, odoo_proc)
        paths.save(state)
        if standbys:
            postgres.wait_streaming(primary, {n.name for n in standbys})
        state.status = "ready"
        paths.save(state)

    def _make_standby(self, node: NodeSpec, primary: NodeSpec) -> None:
        postgres.base_backup(self.paths, node, primary)
        postgres.start(self.paths, node)

    @staticmethod
    def _roles_sql(passwords: dict[str, str]) -> str:
        cockpit, odoo = passwords[credentials.COCKPIT], passwords[credentials.ODOO]
        return (f"CREATE ROLE cockpit LOGIN SUPERUSER PASSWORD '{cockpit}';\n"
                f"CREATE ROLE odoo LOGIN PASSWORD '{odoo}';\n"
                "CREATE DATABASE odoo OWNER odoo;\n"
                # the data-risk statement counts the transactions a writer committed past a timeline fork
                "CREATE EXTENSION IF NOT EXISTS pg_walinspect;\n"
                # Set every catalog row's hint bits now: with checksums, the first read of a row written
                # above sets them later and logs a full-page image (FPI_FOR_HINT, ~7 kB, seen with
                # pg_waldump) on whichever node reads it first, e.g. an old primary started again after
                # a switchover, which then "wrote" past the fork by itself.
                "VACUUM (FREEZE);\n")

    def _discard_failed_build(self, state: LabState) -> None:
        """A previous `up` died half-way: stop what it left and remove its files."""
        self._stop_everything(state)
        for name in state.node_names():
            shutil.rmtree(self.paths.node_dir(name), ignore_errors=True)
        for directory in (self.paths.run, self.paths.proxy_dir, self.paths.pgb_dir, self.paths.odoo_dir):
            shutil.rmtree(directory, ignore_errors=True)
        for path in (self.paths.config, self.paths.pgpass, self.paths.lab_json):
            path.unlink(missing_ok=True)

    def _held_back(self, state: LabState) -> dict[str, str]:
        """Stopped nodes that would start writable beside the primary: the running primary wins,
        else the stopped would-be primary on the highest timeline (the one promoted last)."""
        paths = self.paths
        running = [n for n in state.nodes if postgres.postmaster_pid(paths, n) is not None]
        primaries = [n for n in running if postgres.role(paths, n) in ("primary", "hung")
                     and postgres.starts_as_primary(paths, n)]
        stopped = [n for n in state.nodes if n not in running and postgres.starts_as_primary(paths, n)]
        if not stopped or (not primaries and len(stopped) == 1):
            return {}
        if primaries:
            keep = primaries[0]
        else:
            keep = max(stopped, key=lambda n: (postgres.checkpoint_timeline(paths, n), -state.nodes.index(n)))
        return {n.name: (f"{n.name} not started: it would start writable beside {keep.name}, the primary "
                         f"since a failover (a second writer). Re-protect it: press h in the cockpit, or run "
                         f"`failover-cockpit lab rewind {n.name} --source-port {keep.port} --dir {self.dir}` "
                         f"then `failover-cockpit lab start-standby {n.name} --primary-port {keep.port} "
                         f"--dir {self.dir}`; `lab start {n.name}` makes that split brain on purpose")
                for n in stopped if n is not keep}

    def _ensure_running(self, state: LabState) -> list[str]:
        paths = self.paths
        held = self._held_back(state)
        jobs: list[Callable[[], Any]] = []
        for node in state.nodes:
            pid = postgres.postmaster_pid(paths, node)
            if pid is not None:
                postgres.thaw(pid)
                continue
            if node.name in held:
                continue
            require_free(node.port, node.name)
            jobs.append(lambda n=node: postgres.start(paths, n))
        parallel(jobs)
        missing = [n for n in state.nodes if not proxies.is_running(paths, n, state.proxies.get(n.name))]
        for node in state.nodes:
            if node not in missing:
                send(state.proxies[node.name], signal.SIGCONT)
        for node in missing:
            require_free(node.proxy_port, f"{node.name}'s proxy")
        state.proxies.update(proxies.start_all(paths, missing))
        paths.save(state)
        pgb = pgbouncer.pid(paths)
        if pgb is not None:
            send(pgb, signal.SIGCONT)
        else:
            require_free(state.pgbouncer_port, "PgBouncer")
            pgbouncer.start(paths, state)
        if not odoo.files_ready(paths):  # a lab made before the Odoo stand-in existed
            odoo.set_up(paths, state)
            clusters_toml.write(paths, state)
        self._odoo_ensure(state)
        if not paths.config.exists() or clusters_toml.is_stale(paths):
            clusters_toml.write(paths, state)
        return list(held.values())

    def down(self) -> None:
        """Stop every process of the lab (frozen ones too) and forget partitions;
        the data stays for the next `up`."""
        state = self.paths.load()
        if state is None:  # lab.json lost: still stop whatever runs from this folder
            strays = lab_processes(self._marker())
            if not strays:
                self.paths.require()
            terminate(strays, timeout=3.0)
            return
        self._stop_everything(state)

    def _marker(self) -> str:
        return str(self.dir) + os.sep

    def _stop_everything(self, state: LabState) -> None:
        odoo.stop(self.paths, state.odoo_pid)
        for node in state.nodes:
            proxies.stop(self.paths, node, state.proxies.get(node.name))
        pgbouncer.stop(self.paths)
        parallel([lambda n=node: postgres.shut_down(self.paths, n) for node in state.nodes])
        leftovers = lab_processes(self._marker())
        if leftovers:
            terminate(leftovers, timeout=2.0)
        for node in state.nodes:  # the next `up` starts with every path healed
            self.paths.proxy_state(node.name).unlink(missing_ok=True)

    # ---- status ------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """The lab as `lab status --json` prints it (roles read live)."""
        state = self.paths.require()
        nodes = []
        for node in state.nodes:
            nodes.append({"name": node.name, "port": node.port, "proxy_port": node.proxy_port,
                          "data_dir": str(self.paths.data_dir(node.name)),
                          "pid": postgres.postmaster_pid(self.paths, node),
                          "role": postgres.role(self.paths, node)})
        return {"dir": str(self.dir), "config": str(self.paths.config), "nodes": nodes,
                "pgbouncer": {"port": state.pgbouncer_port,
                              "admin_dsn": pgbouncer.admin_dsn(self.paths, state)},
                "odoo": {"url": odoo.url(state) if self.paths.odoo_conf.exists() else None}}

    # ---- the Odoo stand-in -------------------------------------------------

    def _odoo_ensure(self, state: LabState) -> None:
        """Start the stand-in unless it runs (a stopped one gets SIGCONT)."""
        if odoo.is_running(self.paths, state.odoo_pid):
            assert state.odoo_pid is not None
            send(state.odoo_pid, signal.SIGCONT)
            return
        if not odoo.files_ready(self.paths):
            raise LabError(f"the lab in {self.dir} has no Odoo files yet (no {self.paths.odoo_conf}); "
                           f"run `lab up --dir {self.dir}`")
        require_free(state.odoo_port, "the Odoo stand-in")
        proc = odoo.launch(self.paths, state)
        state.odoo_pid = odoo.wait_ready(self.paths, state, proc)
        self.paths.save(state)

    def odoo_start(self) -> None:
        """Start the Odoo stand-in (a running one is left as is); returns once common.version answers."""
        self._odoo_ensure(self.paths.require())

    def odoo_stop(self) -> None:
        """Stop the Odoo stand-in (SIGTERM): its port refuses connections until `odoo_start`."""
        state = self.paths.require()
        odoo.stop(self.paths, state.odoo_pid)
        if state.odoo_pid is not None:
            state.odoo_pid = None
            self.paths.save(state)

    def odoo_restart(self) -> None:
        """Stop then start the stand-in, as an Odoo restart batch would (it re-reads odoo.conf)."""
        self.odoo_stop()
        self.odoo_start()

    # ---- faults ------------------------------------------------------------

    def _node(self, name: str) -> tuple[LabState, NodeSpec]:
        state = self.paths.require()
        for node in state.nodes:
            if node.name == name:
                return state, node
        raise LabError(f"no node named {name!r} in lab {self.dir} (nodes: {', '.join(state.node_names())})")

    def crash(self, name: str) -> None:
        """Immediate stop (pg_ctl stop -m immediate); a node already down is left as is."""
        _, node = self._node(name)
        pid = postgres.postmaster_pid(self.paths, node)
        if pid is None:
            return
        postgres.thaw(pid)
        postgres.quit_now(pid)

    def start(self, name: str) -> None:
        """Start a down node (pg_ctl start); a running one is left as is."""
        _, node = self._node(name)
        current = postgres.role(self.paths, node)
        if current == "hung":
            raise LabError(f"{name} is hung (SIGSTOPped), not down; run `lab resume {name}`")
        if current == "down":
            require_free(node.port, name)
            postgres.start(self.paths, node)

    # ---- re-protect: an old primary back as a standby ----------------------

    def rewind(self, name: str, source_port: int, *, dry_run: bool = False,
               echo: Callable[[str], None] = lambda _line: None) -> bool:
        """pg_rewind the node from the server on source_port (stopped cleanly first); after a real
        rewind it is configured as that server's standby (not started). False: no rewind was needed."""
        _, node = self._node(name)
        return reprotect.rewind(self.paths, node, source_port, dry_run=dry_run, echo=echo)

    def start_standby(self, name: str, primary_port: int,
                      echo: Callable[[str], None] = lambda _line: None) -> None:
        """standby.signal and primary_conninfo to primary_port, then start (roles are read live)."""
        _, node = self._node(name)
        reprotect.start_standby(self.paths, node, primary_port, echo)

    def start_read_only(self, name: str, echo: Callable[[str], None] = lambda _line: None) -> None:
        """Start a stopped node in recovery following nobody, its WAL untouched (re-protect measures it)."""
        _, node = self._node(name)
        reprotect.start_read_only(self.paths, node, echo)

    def hang(self, name: str) -> None:
        """SIGSTOP the postmaster and all its children, like a frozen VM."""
        _, node = self._node(name)
        pid = self._running_pid(node, "hang")
        postgres.freeze(pid)

    def resume(self, name: str) -> None:
        """SIGCONT a hung node's processes."""
        _, node = self._node(name)
        pid = self._running_pid(node, "resume")
        postgres.thaw(pid)

    def partition(self, name: str) -> None:
        """Cut the bastion's path (the proxy) to a node; replication and PgBouncer keep theirs."""
        state, node = self._node(name)
        proxies.set_partitioned(self.paths, node, state.proxies.get(name), True)

    def heal(self, name: str) -> None:
        state, node = self._node(name)
        proxies.set_partitioned(self.paths, node, state.proxies.get(name), False)

    def pause_replay(self, name: str) -> None:
        """pg_wal_replay_pause() on a standby, via its real port."""
        self._replay(name, "pg_wal_replay_pause")

    def resume_replay(self, name: str) -> None:
        self._replay(name, "pg_wal_replay_resume")

    def _replay(self, name: str, function: str) -> None:
        _, node = self._node(name)
        current = postgres.role(self.paths, node)
        if current != "standby":
            raise LabError(f"{name} is {current}, not a standby: {function}() needs a server in recovery")
        postgres.psql(node.port, f"SELECT {function}();", what=f"{function}() on {name} (port {node.port})")

    def _running_pid(self, node: NodeSpec, verb: str) -> int:
        pid = postgres.postmaster_pid(self.paths, node)
        if pid is None:
            raise LabError(f"{node.name} is down: nothing to {verb}; run `lab start {node.name}`")
        return pid
