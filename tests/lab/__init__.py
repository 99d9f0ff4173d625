"""Lab tests: real PostgreSQL 15 clusters and a real PgBouncer, killed and paused for real."""
