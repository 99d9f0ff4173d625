"""``status --format nagios``: the plugin line, its perfdata, ``-w``/``-c`` and the exit codes, on fixed views."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from checks.observe.assess import Watch, assess
from checks.observe.nagios import (
    ThresholdError, Thresholds, checked_cluster, parse_thresholds, plugin_line, unknown_line
)
from checks.observe.status import exit_code, headline_text
from cli.main import main
from tests.repr_check import repr_fragments
from tests.unit.test_assess import T0, cluster, down, primary, samples, standby

# Nagios plugin guidelines: 'label'=value[UOM];[warn];[crit];[min];[max], U for a value it cannot tell.
DATUM = re.compile(r"^'[^'=]+'=(U|-?\d+(\.\d+)?(s|ms|B)?);(\d+(\.\d+)?)?;(\d+(\.\d+)?)?;0$")


def line_of(c, items, critical=None, now=T0):
    view = assess("c", c, samples(*items), now=now)
    return plugin_line(view, headline_text(view), c.slo, critical), view


def lagging(name="n2", delay=120.0, not_replayed=16 * 1024 * 1024):
    return standby(name, receive="0/5000000", replay="0/4000000", delay=delay).model_copy(
        update={"bytes_not_replayed": not_replayed, "latency_ms": 2.5})


def perfdata(line: str) -> dict[str, str]:
    _, bar, data = line.partition(" | ")
    assert bar, line
    assert repr_fragments(line) == [], line
    items = data.split(" ")
    for item in items:
        assert DATUM.match(item), item
    return {item.split("=")[0].strip("'"): item.split("=", 1)[1] for item in items}


def test_a_healthy_cluster_is_one_ok_line_with_every_nodes_perfdata():
    (line, code), view = line_of(cluster(), [primary(), standby("n2"), standby("n3")])
    assert code == 0 == exit_code(view)
    assert line.startswith("FAILOVER-COCKPIT OK - one writer (n1), every standby within the SLO | ")
    assert "\n" not in line
    data = perfdata(line)
    assert list(data) == [f"{n}_{what}" for n in ("n1", "n2", "n3")
                          for what in ("replay_delay", "unreplayed", "data_at_risk", "latency")]
    # a primary has no replay delay, unreplayed WAL nor data at risk: U, never a made-up 0
    assert data["n1_replay_delay"] == "U;30;;0"
    assert data["n1_data_at_risk"] == "U;16777216;;0"
    assert data["n1_latency"] == "1ms;;;0"
    assert data["n2_replay_delay"] == "0s;30;;0"
    assert data["n2_unreplayed"] == "0B;;;0"
    assert data["n2_data_at_risk"] == "0B;16777216;;0"
    assert data["n2_latency"] == "U;;;0"          # the helper's standby measured no latency


def test_a_standby_over_the_slo_is_a_warning_with_the_cockpits_words():
    (line, code), _ = line_of(cluster(max_replay_delay_s=30), [primary(), lagging(), standby("n3")])
    assert code == 1
    assert line.startswith("FAILOVER-COCKPIT WARNING - n2 replay delay 2m00s is over the SLO (30s) | ")
    data = perfdata(line)
    assert data["n2_replay_delay"] == "120s;30;;0"
    assert data["n2_unreplayed"] == "16777216B;;;0"
    assert data["n2_latency"] == "2.5ms;;;0"


def test_minus_w_replaces_the_slo_and_minus_c_adds_a_critical_level():
    base = cluster(max_replay_delay_s=30)
    relaxed = checked_cluster(base, parse_thresholds("3min", "-w"), Thresholds())
    assert relaxed.slo.max_replay_delay_s == 180 and relaxed.slo.max_data_risk_bytes == base.slo.max_data_risk_bytes
    (line, code), _ = line_of(relaxed, [primary(), lagging(), standby("n3")])
    assert code == 0 and line.startswith("FAILOVER-COCKPIT OK - ")
    assert perfdata(line)["n2_replay_delay"] == "120s;180;;0"

    crit = parse_thresholds("1min,64MB", "-c")
    checked = checked_cluster(base, Thresholds(), crit)
    (line, code), _ = line_of(checked, [primary(), lagging(), standby("n3")], critical=crit)
    assert code == 2
    assert line.startswith("FAILOVER-COCKPIT CRITICAL - n2 replay delay 2m00s is over the critical threshold (1m00s); "
                           "n2 replay delay 2m00s is over the SLO (30s) | ")
    data = perfdata(line)
    assert data["n2_replay_delay"] == "120s;30;60;0"
    assert data["n2_data_at_risk"] == f"0B;16777216;{64 * 1024 * 1024};0"
    assert data["n1_replay_delay"] == "U;30;60;0"


def test_minus_c_on_data_at_risk_after_the_primary_is_gone():
    c = cluster(max_data_risk_bytes=1000)
    watch = Watch("c", c)
    watch.update(primary(lsn="0/5000800"), standby("n2", receive="0/5000000"), standby("n3", receive="0/5000800"))
    later = T0 + timedelta(seconds=12)
    view = watch.update(down("n1", at=later), standby("n2", receive="0/5000000", at=later),
                        standby("n3", receive="0/5000800", at=later), now=later)
    assert view.verdict == "critical"      # no writer: critical without any -c
    line, code = plugin_line(view, headline_text(view), c.slo, parse_thresholds("1kB", "-c"))
    assert code == 2 and exit_code(view) == 2
    assert line.startswith("FAILOVER-COCKPIT CRITICAL - the bastion cannot reach the primary n1 (refused); ")
    assert line.startswith(f"FAILOVER-COCKPIT CRITICAL - {headline_text(view)} | ")    # the header's words
    data = perfdata(line)
    assert data["n2_data_at_risk"] == "2048B;1000;1024;0"
    assert data["n3_data_at_risk"] == "0B;1000;1024;0"
    assert data["n1_latency"] == "U;;;0"           # down: nothing measured

    ok_view = assess("c", c, samples(primary(), standby("n2", receive="0/4FFFC00"), standby("n3")), now=T0)
    line, code = plugin_line(ok_view, headline_text(ok_view), c.slo, parse_thresholds("500B", "-c"))
    assert ok_view.verdict == "warning" and code == 2
    assert line.startswith("FAILOVER-COCKPIT CRITICAL - n2 lacks 1.0 kB of WAL, over the critical threshold (500 B); ")


@pytest.mark.parametrize("items, state, code", [
    ([down("n1"), standby("n2"), standby("n3")], "CRITICAL", 2),
    ([primary(), primary("n2"), standby("n3")], "CRITICAL", 2),
    ([primary(), down("n2"), standby("n3")], "WARNING", 1),
    ([primary(), standby("n2")], "UNKNOWN", 3),           # n3 never sampled: a partial round
])
def test_the_exit_code_is_the_verdicts(items, state, code):
    (line, got), view = line_of(cluster(), items)
    assert got == code == exit_code(view)
    assert line.startswith(f"FAILOVER-COCKPIT {state} - {headline_text(view)} | ")


def test_a_critical_level_never_hides_unknown():
    (line, code), _ = line_of(cluster(), [primary(), lagging()], critical=parse_thresholds("1s", "-c"))
    assert code == 3 and line.startswith("FAILOVER-COCKPIT UNKNOWN - ")


@pytest.mark.parametrize("text, delay, risk", [
    ("30s,16MB", 30.0, 16 * 1024 ** 2), ("30", 30.0, None), ("2min", 120.0, None), ("500ms", 0.5, None),
    ("1h", 3600.0, None), ("64kB", None, 65536), ("1GiB", None, 1024 ** 3), ("16mb , 45s", 45.0, 16 * 1024 ** 2),
    ("100B", None, 100), ("1.5m", 90.0, None),
])
def test_levels_read_a_time_a_size_or_both(text, delay, risk):
    assert parse_thresholds(text, "-w") == Thresholds(replay_delay_s=delay, data_risk_bytes=risk)


@pytest.mark.parametrize("text, words", [
    ("10x", "-w 10x: 'x' is neither a time unit (s, ms, min, h) nor a size unit (B, kB, MB, GB, TB)"),
    ("30s,40s", "-w 30s,40s: it gives the replay delay twice"),
    ("1MB,2kB", "-w 1MB,2kB: it gives the data at risk twice"),
    ("", "-w : write a replay delay, a data at risk, or both, such as -w 30s,16MB"),
    ("-5s", "-w -5s: write a replay delay, a data at risk, or both, such as -w 30s,16MB"),
    ("30s,", "-w 30s,: write a replay delay, a data at risk, or both, such as -w 30s,16MB"),
])
def test_a_bad_level_is_one_sentence_naming_the_flag(text, words):
    with pytest.raises(ThresholdError) as caught:
        parse_thresholds(text, "-w")
    assert str(caught.value) == words
    assert repr_fragments(words) == []


def test_a_critical_level_below_the_warning_level_is_refused():
    with pytest.raises(ThresholdError, match=r"^-c 10s is below the warning level for replay delay \(30s, the SLO\)"):
        checked_cluster(cluster(max_replay_delay_s=30), Thresholds(), parse_thresholds("10s", "-c"))
    with pytest.raises(ThresholdError, match=r"^-c 1\.0 MB is below the warning level for data at risk \(2\.0 MB, -w\)"):
        checked_cluster(cluster(), parse_thresholds("2MB", "-w"), parse_thresholds("1MB", "-c"))
    checked_cluster(cluster(), parse_thresholds("2MB", "-w"), parse_thresholds("2MB", "-c"))   # equal is fine


def test_the_sentence_cannot_break_the_plugin_line():
    view = assess("c", cluster(), samples(primary(), down("n2"), standby("n3")), now=T0)
    line, _ = plugin_line(view, "a | b\nc", cluster().slo)
    assert line.startswith("FAILOVER-COCKPIT WARNING - a / b c | ")
    assert unknown_line("bad\nthing | here") == "FAILOVER-COCKPIT UNKNOWN - bad thing / here"


# -- the command line: bad input is one line, the plugin's UNKNOWN on stdout --------------------------------


def test_a_missing_config_is_an_unknown_plugin_line(tmp_path, capsys):
    assert main(["status", str(tmp_path / "none.toml"), "--format", "nagios"]) == 3
    out, err = capsys.readouterr()
    assert out.startswith("FAILOVER-COCKPIT UNKNOWN - ") and out.count("\n") == 1
    assert "none.toml" in out and err == ""


def test_a_bad_level_is_unknown_before_any_sampling(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text('[clusters.c]\n[[clusters.c.nodes]]\nname = "n1"\ndsn = "postgresql://u@127.0.0.1:1/postgres"\n')
    assert main(["status", str(config), "--format", "nagios", "-c", "2parsecs"]) == 3
    out, _ = capsys.readouterr()
    assert out == ("FAILOVER-COCKPIT UNKNOWN - -c 2parsecs: 'parsecs' is neither a time unit (s, ms, min, h) "
                   "nor a size unit (B, kB, MB, GB, TB)\n")


@pytest.mark.parametrize("argv, words", [
    (["--json", "--format", "nagios"], "--json and --format nagios ask for two formats: give one"),
    (["-w", "30s"], "-w and -c set the levels of --format nagios: add --format nagios, or leave them out"),
    (["--format", "prometheus", "-c", "1min"],
     "-w and -c set the levels of --format nagios: add --format nagios, or leave them out"),
])
def test_flags_that_contradict_are_one_line(argv, words, tmp_path, capsys):
    assert main(["status", str(tmp_path / "none.toml"), *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == f"failover-cockpit: {words}\n"


def test_a_round_that_cannot_run_is_one_line_not_a_traceback(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OFC_TEST_UNSET_PASSWORD", raising=False)
    config = tmp_path / "c.toml"
    config.write_text('[clusters.c]\n[[clusters.c.nodes]]\nname = "n1"\ndsn = "postgresql://u@127.0.0.1:1/postgres"\n'
                      '[[clusters.c.pgbouncers]]\nname = "pgb1"\n'
                      'admin_dsn = "postgresql://admin@127.0.0.1:1/pgbouncer"\npassword_env = "OFC_TEST_UNSET_PASSWORD"\n'
                      'databases = ["odoo"]\n')
    # The PgBouncer's missing password is that probe's failure, in one sentence; the round goes on
    # (n1 refuses: no writer, CRITICAL).
    assert main(["status", str(config), "--format", "nagios"]) == 2
    out, err = capsys.readouterr()
    assert out.startswith("FAILOVER-COCKPIT CRITICAL - ") and out.count("\n") == 1 and err == ""
    assert main(["status", str(config)]) == 2
    out, err = capsys.readouterr()
    assert "pgb1: password_env OFC_TEST_UNSET_PASSWORD is not set" in out and "Traceback" not in out + err
