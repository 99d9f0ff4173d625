"""Training: replaying a journal, recorded scenarios, a simulated run on the real runbook, its score and the safe path."""
