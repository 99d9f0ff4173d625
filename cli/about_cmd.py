"""What the cockpit says about itself: ``--version``, and ``sample-config`` (the documented sample
config, shipped inside the package, to start a ``clusters.toml`` from wherever it is installed)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.console import print_error

DISTRIBUTION = "odoo-failover-cockpit"
SAMPLE = "sample-clusters.toml"
_SOURCE_ROOT = Path(__file__).resolve().parents[1]


def package_version() -> str:
    """The installed package's version; run from a source tree without metadata, the version its
    pyproject.toml declares, said to be from the source tree. (importlib.metadata, ~40 ms, and
    tomllib are imported here: every command builds the parser this module is part of.)"""
    import tomllib
    from importlib import metadata

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        pass
    try:
        declared = tomllib.loads((_SOURCE_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError):
        return "(version unknown: not installed, and no pyproject.toml beside the source)"
    return f"{declared} (source tree, not installed)"


class VersionAction(argparse.Action):
    """``--version``: print ``failover-cockpit X.Y.Z`` and exit 0 (the metadata read only when asked)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None) -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0,
                         help=help or "print the version and exit")

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(f"failover-cockpit {package_version()}")
        parser.exit(0)


def add_sample_parser(sub) -> None:
    sub.add_parser("sample-config", help=f"print the documented sample config ({SAMPLE}): "
                                         "failover-cockpit sample-config > clusters.toml")


def sample_text() -> str | None:
    """The sample config's text: shipped in the ``cli`` package, else the source tree's (None: neither)."""
    from importlib import resources

    for source in (resources.files("cli").joinpath(SAMPLE), _SOURCE_ROOT / SAMPLE):
        try:
            return source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
    return None


def run_sample_config(args: argparse.Namespace) -> int:
    text = sample_text()
    if text is None:
        print_error(f"the sample config ({SAMPLE}) is not installed with this copy: reinstall the package")
        return 1
    sys.stdout.write(text)
    return 0
