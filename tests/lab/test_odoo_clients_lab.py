"""Real Odoo clients against the lab's Odoo stand-in: ``odoorpc`` (JSON-RPC) and ``odoo-client-lib``
(``odoolib``, over JSON-RPC and XML-RPC), logged in as the lab's probe user, which is not the
superuser. `lab` is the session's shared lab: every record made here is removed, and a rewritten
odoo.conf is put back.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
import xmlrpc.client
from pathlib import Path
from urllib.parse import urlsplit

import odoolib
import odoorpc
import pytest
from odoolib.tools import JsonRPCException

from checks.config.model import Odoo, load_config
from lab import Lab

pytestmark = pytest.mark.lab

SALE_FIELDS = {"name", "partner_id", "state", "client_order_ref", "note", "date_order", "create_uid", "write_date"}
CRON_DENIED = ("You are not allowed to access 'Scheduled Actions' (ir.cron) records.\n\n"
               "This operation is allowed for the following groups:\n\t- Settings\n\n"
               "Contact your administrator to request access if necessary.")


def odoo_config(lab: Lab) -> Odoo:
    _, cluster = load_config(lab.status()["config"]).cluster(None)
    assert cluster.odoo is not None
    return cluster.odoo


def port_of(odoo: Odoo) -> int:
    port = urlsplit(odoo.url).port
    assert port is not None
    return port


def secret(odoo: Odoo) -> str:
    return Path(odoo.password_file).read_text().strip()


def post(url: str, params: dict, cookie: str | None = None) -> tuple[dict, str | None]:
    """One JSON-RPC call: (the answer, the Set-Cookie header)."""
    body = json.dumps({"jsonrpc": "2.0", "method": "call", "params": params, "id": 7}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    if cookie:
        request.add_header("Cookie", cookie)
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200 and response.headers["Content-Type"] == "application/json"
        return json.loads(response.read()), response.headers.get("Set-Cookie")


def test_odoorpc_over_jsonrpc(lab: Lab) -> None:
    odoo = odoo_config(lab)
    client = odoorpc.ODOO("127.0.0.1", protocol="jsonrpc", port=port_of(odoo), timeout=10)
    assert client.version == "17.0-lab-standin" and client.db.list() == ["odoo"]
    client.login(odoo.db, odoo.login, secret(odoo))
    uid = client.env.uid
    assert uid >= 2 and client.env.context["uid"] == uid  # not the superuser (uid 1)
    partner = client.env["res.users"].read([uid], ["partner_id"])[0]["partner_id"]
    orders = client.env["sale.order"]
    ref = f"odoorpc {uuid.uuid4().hex[:8]}"
    order_id = orders.create({"partner_id": partner[0], "client_order_ref": ref})
    try:
        order = orders.browse(order_id)
        assert order.state == "draft" and order.name.startswith("S") and order.client_order_ref == ref
        order.note = "written by odoorpc"  # odoorpc writes at once
        [row] = orders.search_read([["client_order_ref", "=", ref]], ["note", "state", "partner_id"])
        assert row == {"id": order_id, "note": "written by odoorpc", "state": "draft", "partner_id": partner}
        assert orders.search_count(["|", ["client_order_ref", "=", ref], ["client_order_ref", "=", ref + " no"]]) == 1
        assert orders.name_search(order.name, operator="=") == [[order_id, order.name]]
        assert SALE_FIELDS <= set(client.execute("sale.order", "fields_get"))
    finally:
        orders.browse(order_id).unlink()
    assert orders.search([["id", "=", order_id]]) == []
    with pytest.raises(odoorpc.error.RPCError) as caught:
        client.env["ir.cron"].search_read([], ["cron_name"])
    assert str(caught.value) == CRON_DENIED
    assert caught.value.info["code"] == 200 and caught.value.info["message"] == "Odoo Server Error"
    assert caught.value.info["data"]["name"] == "odoo.exceptions.AccessError"


@pytest.mark.parametrize("protocol", ["jsonrpc", "xmlrpc"])
def test_odoo_client_lib(lab: Lab, protocol: str) -> None:
    odoo = odoo_config(lab)
    conn = odoolib.get_connection(hostname="127.0.0.1", protocol=protocol, port=port_of(odoo), database=odoo.db,
                                  login=odoo.login, password=secret(odoo))
    conn.check_login()
    assert conn.user_id >= 2
    assert conn.get_service("common").version()["server_version"] == "17.0-lab-standin"
    assert conn.get_service("db").list() == ["odoo"]
    assert conn.get_service("db").server_version() == "17.0-lab-standin"
    assert conn.get_user_context() == {"lang": "en_US", "tz": "UTC", "uid": conn.user_id}
    partner = conn.get_model("res.users").read([conn.user_id], ["partner_id"])[0]["partner_id"]
    orders = conn.get_model("sale.order")
    ref = f"odoolib {protocol} {uuid.uuid4().hex[:8]}"
    ids = [orders.create({"partner_id": partner[0], "client_order_ref": f"{ref} {n}"}) for n in "abc"]
    try:
        assert orders.write([ids[0]], {"note": "written by odoolib"}) is True
        mine = [["client_order_ref", "like", ref]]
        assert orders.search_read(mine + [["note", "!=", False]], ["note"]) == [{"id": ids[0], "note": "written by odoolib"}]
        assert orders.search_count(mine) == 3
        either = ["|", ["client_order_ref", "=", f"{ref} a"], ["client_order_ref", "=", f"{ref} b"]]
        assert sorted(orders.search(mine + either)) == ids[:2]
        assert orders.search(mine + ["!"] + either) == [ids[2]]
        assert orders.search(mine + ["!", "|", ["note", "=", False], ["client_order_ref", "=", f"{ref} b"]]) == [ids[0]]
        assert orders.search(["&", "!", ["note", "=", "written by odoolib"], ["client_order_ref", "like", ref]],
                             order="id") == ids[1:]
        found = orders.name_search("", [["client_order_ref", "=", f"{ref} c"]])
        assert [i for i, _ in found] == [ids[2]] and found[0][1].startswith("S")
        fields = orders.fields_get(["state", "partner_id"], ["type", "relation", "selection", "string"])
        assert fields["partner_id"] == {"type": "many2one", "relation": "res.partner", "string": "Customer"}
        assert ["draft", "Quotation"] in fields["state"]["selection"]
    finally:
        assert orders.unlink(ids) is True
    assert orders.search_count([["client_order_ref", "like", ref]]) == 0
    with pytest.raises((JsonRPCException, xmlrpc.client.Fault)) as caught:
        conn.get_model("res.partner").create({"name": "the probe user may not"})
    said = "You are not allowed to create 'Contact' (res.partner) records."
    if protocol == "jsonrpc":
        data = caught.value.error["data"]
        assert data["name"] == "odoo.exceptions.AccessError" and data["message"].startswith(said)
        assert "Traceback" not in data["debug"]
    else:
        assert caught.value.faultCode == 4 and caught.value.faultString.startswith(said)


def test_only_the_probe_user_logs_in(lab: Lab) -> None:
    odoo = odoo_config(lab)
    common = xmlrpc.client.ServerProxy(odoo.url + "/xmlrpc/2/common")
    assert common.login(odoo.db, odoo.login, secret(odoo)) >= 3  # after __system__ (1) and admin (2)
    for login in ("__system__", "admin"):  # the superuser is inactive; the lab's admin has no password
        assert common.login(odoo.db, login, secret(odoo)) is False


def test_web_session_routes(lab: Lab) -> None:
    odoo = odoo_config(lab)
    base = odoo.url.rstrip("/")
    answer, _ = post(base + "/web/webclient/version_info", {})
    assert answer["id"] == 7 and answer["result"]["server_version_info"][:2] == [17, 0]
    answer, cookie = post(base + "/web/session/authenticate",
                          {"db": odoo.db, "login": odoo.login, "password": secret(odoo)})
    info = answer["result"]
    assert info["uid"] >= 2 and info["is_system"] is False and info["username"] == odoo.login
    assert info["user_context"]["uid"] == info["uid"] and info["server_version_info"][0] == 17
    assert cookie and cookie.startswith("session_id=")
    session = cookie.split(";", 1)[0]
    answer, _ = post(base + "/web/dataset/call_kw/sale.order/search_count",
                     {"model": "sale.order", "method": "search_count", "args": [[]], "kwargs": {}}, session)
    assert isinstance(answer["result"], int)
    answer, _ = post(base + "/web/session/get_session_info", {}, session)
    assert answer["result"]["uid"] == info["uid"]
    post(base + "/web/session/destroy", {}, session)
    answer, _ = post(base + "/web/dataset/call_kw", {"model": "sale.order", "method": "search", "args": [[]]}, session)
    assert answer["error"]["code"] == 100 and answer["error"]["data"]["name"] == "odoo.http.SessionExpiredException"
    answer, cookie = post(base + "/web/session/authenticate",
                          {"db": odoo.db, "login": odoo.login, "password": "not-the-probe-password"})
    assert cookie is None and answer["error"]["data"]["name"] == "odoo.exceptions.AccessDenied"
    assert answer["error"]["data"]["message"] == "Access Denied"
    answer, _ = post(base + "/jsonrpc", {"service": "nothing", "method": "x", "args": []})
    assert answer["error"]["data"]["message"] == "No such service: nothing"
    log = (lab.dir / "odoo" / "standin.log").read_text()
    assert session.split("=", 1)[1] not in log and secret(odoo) not in log


def test_bad_json_is_one_line_not_a_traceback(lab: Lab) -> None:
    request = urllib.request.Request(odoo_config(lab).url.rstrip("/") + "/jsonrpc", data=b"{not json",
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 400
    assert caught.value.read() == b"Invalid JSON data: send a JSON-RPC object.\n"


def test_db_list_follows_list_db(lab: Lab) -> None:
    odoo = odoo_config(lab)
    conf = lab.dir / "odoo" / "odoo.conf"
    before = conf.read_text()
    db = xmlrpc.client.ServerProxy(odoo.url + "/xmlrpc/2/db")
    try:
        conf.write_text(before.replace("list_db = True", "list_db = False"))
        with pytest.raises(xmlrpc.client.Fault) as caught:
            db.list()
        assert (caught.value.faultCode, caught.value.faultString) == (3, "Access Denied")
    finally:
        conf.write_text(before)
    assert db.list() == ["odoo"] and db.db_exist("odoo") is True and db.db_exist("other") is False
    with pytest.raises(xmlrpc.client.Fault) as caught:
        db.drop("not-the-master-password", "odoo")
    assert (caught.value.faultCode, caught.value.faultString) == (3, "Access Denied")
