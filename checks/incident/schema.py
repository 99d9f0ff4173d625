"""The journal's SQLite schema (``PRAGMA user_version``): events, node samples, and the incident's meta.

Version 2 keeps, as each sample is written, the standby peaks (in ``meta``) and ``turning_points`` (the
ids of the samples a resumed Watch must see). A cockpit that reads version 1 knows neither, and writing
samples it would leave both stale (a close-out that understates a standby's data risk), so it refuses a
version 2 journal ("newer than this cockpit reads"). A version 1 journal is read here, and becomes
version 2 with the first sample written to it: its peaks counted again from every sample, and the
marks an older cockpit may have left incomplete dropped (it is then read whole on resume, as before).
"""

SCHEMA_VERSION = 2

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
