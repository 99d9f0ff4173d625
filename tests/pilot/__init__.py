"""Pilot tests: the Textual screens driven headless with fixed data, and their snapshots."""
