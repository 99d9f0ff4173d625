"""TLS settings honoured by every driver: the nodes, the PgBouncer console and Odoo's RPC."""

from __future__ import annotations

import asyncio

import pytest

from checks.config.model import load_config

pytestmark = pytest.mark.lab


def test_sslmode_is_honoured_for_nodes_the_pgbouncer_console_and_odoo(lab, tmp_path):
    """The lab serves no TLS: asking for it must fail, which shows the setting reaches every driver."""
    from checks.observe.sampler import NodeSampler
    from checks.stages.odoo_rpc import OdooClient, OdooError
    from checks.stages.pgbouncer import PgBouncerError, admin_show

    text = open(lab.status()["config"]).read().replace("?passfile=", "?sslmode=require&passfile=")
    text = text.replace('url = "http://', 'url = "https://')
    cfg = tmp_path / "tls.toml"
    cfg.write_text(text)
    _, cluster = load_config(cfg).cluster(None)
    sample = asyncio.run(NodeSampler(cluster.nodes[0], cluster.sampling).sample())
    assert not sample.reachable and "SSL" in sample.error
    with pytest.raises(PgBouncerError, match="(?i)ssl"):
        asyncio.run(admin_show(cluster.pgbouncers[0], "databases"))
    with pytest.raises(OdooError, match="(?i)ssl|wrong version"):
        OdooClient(cluster.odoo).version()
