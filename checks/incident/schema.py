"""The journal's SQLite schema (``PRAGMA user_version`` 1): events, node samples, and the incident's meta.

``turning_points`` (the ids of the samples a resumed Watch must see) came later, in the same version: a
journal without it is read as before, whole (:mod:`checks.incident.journal_samples`)."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    seat TEXT NOT NULL,
    author TEXT NOT NULL,
    kind TEXT NOT NULL,
    stage INTEGER,
    text TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(data))
);
CREATE INDEX IF NOT EXISTS events_kind ON events (kind, id);
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    node TEXT NOT NULL,
    data TEXT NOT NULL CHECK (json_valid(data))
);
CREATE INDEX IF NOT EXISTS samples_node_at ON samples (node, at);
CREATE INDEX IF NOT EXISTS samples_at ON samples (at);
CREATE TABLE IF NOT EXISTS turning_points (sample_id INTEGER PRIMARY KEY);
"""
