"""Unit tests: the domain and the command line, no lab (fast: make test-fast)."""
