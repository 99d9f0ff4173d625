"""One module per runbook stage: each stage's actions check their gate, act, and journal the evidence before returning."""
