"""From PgBouncer probes to the panel's lines (tui/pooler_lines.py): plain data, errors in words."""

from __future__ import annotations

from tests.pooler_fixtures import CONSOLE_REFUSED, console_down, cutover_stall, paused
from tests.repr_check import repr_fragments
from tui.pooler_lines import console_words, pooler_lines


def test_the_consoles_error_drops_the_name_the_title_says():
    assert console_words(CONSOLE_REFUSED, "pgb2") == ('connection failed: connection to server at "127.0.0.1", '
                                                       "port 6433 failed: Connection refused")
    assert console_words("pgb2: SHOW POOLS failed: timeout expired", "pgb2") == "SHOW POOLS failed: timeout expired"
    assert console_words(None, "pgb2") is None


def test_lines_by_pgbouncer_in_probe_order_with_the_roles_of_the_nodes():
    found = pooler_lines([*cutover_stall(), paused()], {"node1": "primary"})
    assert list(found) == ["pgb1", "pgb2"]
    lines, console = found["pgb1"]
    assert [line.database for line in lines] == ["odoo", "odoo_reports", "odoo"] and console is None
    assert lines[0].node == "node1" and lines[0].node_role == "primary" and not lines[0].failed
    assert lines[1].waiting and lines[2].paused and not lines[2].failed
    (dead,), _ = found["pgb2"]
    assert dead.node is None and dead.upstream == "127.0.0.1:6000" and dead.failed


def test_a_console_down_has_no_repr_left():
    (line,), console = pooler_lines([console_down()])["pgb2"]
    assert not repr_fragments(line.error) and not repr_fragments(console)
    assert line.failed and line.upstream is None and line.node_role is None
