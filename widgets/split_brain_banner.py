"""SplitBrainBanner: the one alarm nobody may miss: two nodes accept writes, or an old primary does."""

from __future__ import annotations

from textual.widgets import Static

from checks.observe.assess import ClusterView


def join_names(names: tuple[str, ...] | list[str]) -> str:
    """``('a', 'b', 'c')`` -> ``'a, b and c'``."""
    names = list(names)
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


KEY_LINE = "K keep one writer: choose which to keep, fence the other"


class SplitBrainBanner(Static):
    """A full-width red banner naming the writable nodes; hidden while there is one writer or none."""

    HELP = """\
### Split-brain banner

Appears, full width and red, the moment **more than one node accepts writes**
(reachable and out of recovery), or a node accepts writes on an **older timeline**
than another node (an old primary came back after a failover). Both nodes are committing transactions the other
will never see: every second adds divergence. **K** (at any stage) keeps one writer
and fences the others: the cockpit proposes the writer Odoo reaches through PgBouncer
and the newest timeline, says what each choice discards, asks for the typed name of
the node to fence, fences it and checks exactly one writer remains. Discarding
transactions needs the approver seat's approval (**K** there). Stays hidden otherwise:
"no writable node" and lagging standbys are shown by the verdict in the header.
"""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes)
        self.writers: tuple[str, ...] = ()

    def update_view(self, view: ClusterView) -> None:
        """Show or hide the banner for this cluster view."""
        writers = view.writable if view.split_brain else ()
        if writers == self.writers:
            return
        raised = bool(writers) and not self.writers
        self.writers = writers
        self.set_class(bool(writers), "-active")
        if writers and len(writers) == 1:
            self.update(
                f"SPLIT BRAIN: {writers[0]} accepts writes on an old timeline — fence it now\n"
                "an old primary is back: its commits are lost to the new timeline\n" + KEY_LINE
            )
        elif writers:
            verb = "both accept" if len(writers) == 2 else "all accept"
            self.update(
                f"SPLIT BRAIN: {join_names(writers)} {verb} writes — fence one now\n"
                "every commit on either side is lost to the other\n" + KEY_LINE
            )
        if raised:
            self.app.bell()
