"""The runbook's rules: the stage gates, the operation (the thin context every action runs in), candidates, data risk, the other nodes."""
