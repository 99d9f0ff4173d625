"""Every benchmark module imports: a refactor that moves a helper must not break `bench/run` unseen
(it did once: bench/cutover.py imported write_atomic from its old home)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import bench

MODULES = sorted(m.name for m in pkgutil.iter_modules(bench.__path__))


def test_there_are_benchmarks():
    assert "main" in MODULES and "sampling" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_each_benchmark_module_imports(name):
    importlib.import_module(f"bench.{name}")
