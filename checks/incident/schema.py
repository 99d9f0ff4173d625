"""The journal's SQLite schema (``PRAGMA user_version`` 1): events, node samples, and the incident's meta."""

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
"""
