"""``status --format prometheus`` and the exporter's metrics: the text parsed back with prometheus_client's
own parser, and checked by the real ``promtool check metrics``."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from checks.observe.assess import Watch, assess
from checks.observe.metrics import exposition, registry_for
from cli.exporter_cmd import ListenError, bind_problem, parse_listen
from tests.repr_check import repr_fragments
from tests.unit.test_assess import T0, cluster, down, primary, samples, standby

NODE_SERIES = ("node_up", "node_role", "node_in_recovery", "node_writable", "node_replay_delay_seconds",
               "node_unreplayed_bytes", "node_data_at_risk_bytes", "node_timeline", "node_sample_latency_seconds")


def parsed(text: str) -> dict[tuple[str, tuple], float]:
    """{(name, sorted labels): value} of every sample, and each family has a HELP sentence."""
    found = {}
    for family in text_string_to_metric_families(text):
        assert family.name.startswith("failover_cockpit_")
        assert family.type == "gauge"
        assert family.documentation[:1].isupper() and family.documentation.endswith("."), family.documentation
        assert repr_fragments(family.documentation) == []
        for sample in family.samples:
            found[(sample.name.removeprefix("failover_cockpit_"), tuple(sorted(sample.labels.items())))] = sample.value
    return found


def node(name: str, node_name: str, **more) -> tuple[str, tuple]:
    return name, tuple(sorted({"cluster": "c", "node": node_name, **more}.items()))


def of_cluster(name: str, **more) -> tuple[str, tuple]:
    return name, tuple(sorted({"cluster": "c", **more}.items()))


def lagging():
    return standby("n2", receive="0/5000000", replay="0/4000000", delay=120).model_copy(
        update={"bytes_not_replayed": 4096, "latency_ms": 2.5})


def test_a_lagging_standby_and_a_dead_one():
    c = cluster(max_replay_delay_s=30)
    view = assess("c", c, samples(primary(), lagging(), down("n3")), now=T0)
    got = parsed(exposition(view, c.slo))
    assert got[of_cluster("verdict")] == 1
    assert got[of_cluster("verdict_state", state="warning")] == 1
    assert got[of_cluster("verdict_state", state="ok")] == 0
    assert got[of_cluster("split_brain")] == 0
    assert got[of_cluster("writable_nodes")] == 1
    assert got[of_cluster("problems")] == len(view.problems)
    assert got[of_cluster("observed_timestamp_seconds")] == T0.timestamp()
    assert got[of_cluster("slo_max_replay_delay_seconds")] == 30
    assert got[of_cluster("slo_max_data_at_risk_bytes")] == 16 * 1024 * 1024

    assert got[node("node_up", "n1")] == 1 and got[node("node_up", "n3")] == 0
    assert got[node("node_role", "n1", role="primary")] == 1
    assert got[node("node_role", "n3", role="unreachable")] == 1
    assert got[node("node_in_recovery", "n1")] == 0 and got[node("node_in_recovery", "n2")] == 1
    assert got[node("node_writable", "n1")] == 1 and got[node("node_writable", "n2")] == 0
    assert got[node("node_replay_delay_seconds", "n2")] == 120
    assert got[node("node_unreplayed_bytes", "n2")] == 4096
    assert got[node("node_data_at_risk_bytes", "n2")] == 0
    assert got[node("node_timeline", "n1")] == 1
    assert got[node("node_sample_latency_seconds", "n1")] == pytest.approx(0.001)
    assert got[node("node_sample_latency_seconds", "n2")] == pytest.approx(0.0025)
    # what does not apply or is not known is left out, never a made-up zero
    for name in ("node_replay_delay_seconds", "node_unreplayed_bytes", "node_data_at_risk_bytes"):
        assert node(name, "n1") not in got
    for name in NODE_SERIES[2:]:
        assert node(name, "n3") not in got


def test_split_brain_and_the_data_at_risk_the_watch_remembers():
    c = cluster(max_data_risk_bytes=1000)
    watch = Watch("c", c)
    watch.update(primary(lsn="0/5000800"), standby("n2", receive="0/5000000"), standby("n3", receive="0/5000800"))
    later = T0 + timedelta(seconds=5)
    view = watch.update(down("n1", at=later), standby("n2", receive="0/5000000", at=later),
                        standby("n3", receive="0/5000800", at=later), now=later)
    got = parsed(exposition(view))
    assert got[of_cluster("verdict")] == 2 and got[of_cluster("writable_nodes")] == 0
    assert got[node("node_data_at_risk_bytes", "n2")] == 2048
    assert got[node("node_data_at_risk_bytes", "n3")] == 0
    assert of_cluster("slo_max_replay_delay_seconds") not in got       # no SLO given, none shown

    split = assess("c", c, samples(primary(), primary("n2"), standby("n3")), now=T0)
    got = parsed(exposition(split))
    assert got[of_cluster("split_brain")] == 1 and got[of_cluster("writable_nodes")] == 2
    assert got[of_cluster("verdict_state", state="critical")] == 1


def test_before_the_first_round_there_is_no_series():
    from prometheus_client import generate_latest

    assert generate_latest(registry_for(lambda: None)) == b""


def test_promtool_accepts_the_metrics():
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: scripts/ensure-system-deps installs Debian's prometheus package"
    c = cluster()
    for items in ([primary(), lagging(), down("n3")], [primary(), primary("n2"), standby("n3")],
                  [primary(), standby("n2"), standby("n3")]):
        text = exposition(assess("c", c, samples(*items), now=T0), c.slo)
        out = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stdout + out.stderr
        assert out.stdout + out.stderr == ""        # not even a lint warning


# -- exporter --listen -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text, host, port", [
    ("127.0.0.1:9841", "127.0.0.1", 9841), ("[::1]:9841", "::1", 9841), (":9841", "0.0.0.0", 9841),
    ("localhost:1", "localhost", 1), ("0.0.0.0:65535", "0.0.0.0", 65535),
])
def test_listen_reads_an_address_and_a_port(text, host, port):
    assert parse_listen(text) == (host, port)


@pytest.mark.parametrize("text, words", [
    ("9841", "--listen 9841: write ADDR:PORT, such as 127.0.0.1:9841"),
    ("127.0.0.1:", "--listen 127.0.0.1:: write ADDR:PORT, such as 127.0.0.1:9841"),
    ("127.0.0.1:http", "--listen 127.0.0.1:http: the port http is not a number"),
    ("127.0.0.1:0", "--listen 127.0.0.1:0: the port must be from 1 to 65535"),
    ("127.0.0.1:70000", "--listen 127.0.0.1:70000: the port must be from 1 to 65535"),
    ("::1:9841", "--listen ::1:9841: write an IPv6 address in brackets, such as [::1]:9841"),
])
def test_a_bad_listen_is_one_sentence(text, words):
    with pytest.raises(ListenError) as caught:
        parse_listen(text)
    assert str(caught.value) == words
    assert repr_fragments(words) == []


def test_a_refused_bind_is_said_in_words():
    assert bind_problem(OSError(98, "Address already in use")) == "address already in use"
    assert bind_problem(OSError("weird")) == "weird"


def test_exporter_with_a_bad_listen_exits_2_with_one_line(tmp_path, capsys):
    from cli.main import main

    assert main(["exporter", str(tmp_path / "none.toml"), "--listen", "9841"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == "failover-cockpit: --listen 9841: write ADDR:PORT, such as 127.0.0.1:9841\n"


def test_exporter_on_a_busy_port_exits_2_with_one_line(tmp_path, capsys):
    import socket

    from cli.main import main

    config = tmp_path / "c.toml"
    config.write_text('[clusters.c]\n[[clusters.c.nodes]]\nname = "n1"\ndsn = "postgresql://u@127.0.0.1:1/postgres"\n')
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        where = f"127.0.0.1:{busy.getsockname()[1]}"
        assert main(["exporter", str(config), "--listen", where]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == f"failover-cockpit: --listen {where}: address already in use\n"
