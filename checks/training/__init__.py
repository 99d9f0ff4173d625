"""Training: replaying a journal, recorded scenarios, a simulated run on the real runbook, its score and the safe path."""

from pathlib import Path

SCENARIO_DIR = Path(__file__).with_name("scenarios")
"""The bundled scenarios (package data). Defined here, not in ``scenario``, so that the command
line can name it without importing the scenario models (~0.24 s, paid by every `failover-cockpit`
run, the lab's Odoo restart batch inside a failover's RTO among them)."""
