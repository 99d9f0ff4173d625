"""The domain of the cockpit: config, sampling, assessment and (later) the runbook.

This package never imports textual: it is shared by the cockpit, the headless
commands and the tests. ``tests/test_layering.py`` enforces that.
"""
