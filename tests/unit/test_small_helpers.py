"""LSN arithmetic, human units and secret redaction."""

from __future__ import annotations

import pytest

from checks.config.redact import MASK, dsn_password, mask_dsn, redact, remember_secret
from checks.observe.lsn import format_lsn, human_bytes, human_seconds, lsn_diff, parse_lsn


def test_lsn_round_trip_and_diff():
    assert parse_lsn("16/B374D848") == (0x16 << 32) | 0xB374D848
    assert format_lsn(parse_lsn("16/B374D848")) == "16/B374D848"
    assert lsn_diff("0/3000060", "0/3000000") == 0x60
    assert lsn_diff(None, "0/1") is None
    with pytest.raises(ValueError):
        parse_lsn("nonsense")


@pytest.mark.parametrize("n,text", [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 kB"), (16 * 1024**2, "16.0 MB")])
def test_human_bytes(n, text):
    assert human_bytes(n) == text


@pytest.mark.parametrize("s,text", [(4.25, "4.2s"), (42, "42s"), (125, "2m05s"), (3725, "1h02m05s"), (None, "?")])
def test_human_seconds(s, text):
    assert human_seconds(s) == text


def test_dsn_passwords_are_masked():
    dsn = "postgresql://cockpit:s3cret-pw@db1:5432/postgres?sslmode=require"
    assert dsn_password(dsn) == "s3cret-pw"
    assert "s3cret-pw" not in mask_dsn(dsn) and MASK in mask_dsn(dsn)
    assert mask_dsn("postgresql://u@h/db?password=abc&sslmode=require") == f"postgresql://u@h/db?password={MASK}&sslmode=require"
    assert "s3cret-pw" not in redact(f"could not connect to {dsn}")
    assert redact("host=db password='x y z' port=5") == f"host=db password={MASK} port=5"


def test_remembered_secrets_are_masked_anywhere():
    remember_secret("Tr0ub4dor&3")
    assert redact("FATAL: auth failed for Tr0ub4dor&3!") == f"FATAL: auth failed for {MASK}!"
