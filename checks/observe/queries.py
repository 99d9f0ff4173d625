"""Every SQL statement the cockpit sends, by name, in one place (pg_activity's habit)."""

# One round trip per node per tick. Works on a primary and on a standby: functions that
# raise in the wrong role (pg_current_wal_lsn on a standby, pg_is_wal_replay_paused and
# pg_walfile_name the other way round) sit behind CASE, which PostgreSQL evaluates lazily.
# LSNs travel as text, intervals as float seconds, lists as JSON.
# The WAL senders and the WAL receiver are read from the functions behind the pg_stat_replication
# and pg_stat_wal_receiver views (their definitions, as Patroni reads them), not the views: a fresh
# backend's first plan of the query costs ~5.5 ms of server CPU through the views and ~3.6 ms
# without (PostgreSQL 15 here, 30 servers), which a fleet's first round pays 150 times. The rows are
# the views' rows, filtered for a role without pg_read_all_stats in the same way.
NODE_SAMPLE = """
SELECT
  now() AS server_now,
  r.in_recovery,
  current_setting('transaction_read_only') AS tx_read_only,
  current_setting('server_version') AS server_version,
  current_setting('cluster_name') AS cluster_name,
  (SELECT system_identifier::text FROM pg_control_system()) AS system_identifier,
  pg_postmaster_start_time() AS postmaster_start,
  -- data_directory is readable only with pg_read_all_settings' privileges (NULL without, no error)
  CASE WHEN pg_has_role('pg_read_all_settings', 'USAGE') THEN current_setting('data_directory') END
       AS data_directory,
  CASE WHEN r.in_recovery
       THEN extract(epoch FROM current_setting('recovery_min_apply_delay')::interval)::float8
       END AS apply_delay_s,
  CASE WHEN r.in_recovery THEN pg_last_wal_receive_lsn()::text END AS receive_lsn,
  CASE WHEN r.in_recovery THEN pg_last_wal_replay_lsn()::text END AS replay_lsn,
  CASE WHEN r.in_recovery
       THEN greatest(0, pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()))::float8
       END AS bytes_not_replayed,
  CASE WHEN r.in_recovery
       THEN extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END AS replay_delay_s,
  CASE WHEN r.in_recovery THEN pg_is_wal_replay_paused() END AS replay_paused,
  CASE WHEN NOT r.in_recovery THEN pg_current_wal_lsn()::text END AS current_lsn,
  CASE WHEN NOT r.in_recovery THEN pg_current_wal_flush_lsn()::text END AS flush_lsn,
  CASE WHEN NOT r.in_recovery
       THEN ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int
       ELSE coalesce((SELECT received_tli FROM pg_stat_get_wal_receiver() WHERE pid IS NOT NULL),
                     (pg_control_checkpoint()).timeline_id) END AS timeline,
  (SELECT row_to_json(w)::text FROM (
      SELECT status, sender_host, sender_port, received_tli, slot_name
      FROM pg_stat_get_wal_receiver() WHERE pid IS NOT NULL) w) AS wal_receiver,
  (SELECT coalesce(json_agg(s), '[]')::text FROM (
      SELECT a.application_name, a.client_addr::text AS client_addr, w.state, w.sync_state,
             w.sent_lsn::text AS sent_lsn, w.write_lsn::text AS write_lsn,
             w.flush_lsn::text AS flush_lsn, w.replay_lsn::text AS replay_lsn,
             extract(epoch FROM w.write_lag)::float8 AS write_lag_s,
             extract(epoch FROM w.flush_lag)::float8 AS flush_lag_s,
             extract(epoch FROM w.replay_lag)::float8 AS replay_lag_s
      FROM pg_stat_get_wal_senders() w, pg_stat_get_activity(w.pid) a
      ORDER BY a.application_name) s) AS replication
FROM (SELECT pg_is_in_recovery() AS in_recovery) r
"""

IN_RECOVERY = "SELECT pg_is_in_recovery()"
PROMOTE_NO_WAIT = "SELECT pg_promote(wait => false)"
WRITABLE_CHECK = "SELECT pg_is_in_recovery() AS in_recovery, current_setting('transaction_read_only') AS tx_read_only"
# The fence sequence's positions: LSNs mean something only with their timeline.
CURRENT_POSITION = """
SELECT pg_current_wal_lsn()::text AS lsn,
       ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int AS timeline
"""
RECEIVE_POSITION = """
SELECT pg_last_wal_receive_lsn()::text AS lsn,
       coalesce((SELECT received_tli FROM pg_stat_wal_receiver), (pg_control_checkpoint()).timeline_id) AS timeline,
       (SELECT status FROM pg_stat_wal_receiver) AS status
"""

CRON_LASTCALL = "SELECT max(lastcall) FROM ir_cron WHERE active"
# Two statements: a table name inside CASE is still resolved when the query is parsed.
HAS_QUEUE_JOB = "SELECT to_regclass('queue_job') IS NOT NULL"
FAILED_JOBS_SINCE = "SELECT count(*) FROM queue_job WHERE state = 'failed' AND date_created >= $1"
ODOO_SESSIONS = """
SELECT count(*) FROM pg_stat_activity
WHERE pid <> pg_backend_pid() AND (datname = $1 OR application_name ILIKE 'odoo%')
"""

# Divergence (checks/observe/divergence.py): where a node's WAL ends and on which timeline, with its
# latest checkpoint and transaction counters so a restart's own end-of-recovery checkpoint can
# be told from real writes. A standby ends at the later of its receive and replay LSN.
DIVERGENCE_POSITION = """
SELECT
  current_user::text AS role,
  r.in_recovery,
  (SELECT system_identifier::text FROM pg_control_system()) AS system_identifier,
  CASE WHEN NOT r.in_recovery
       THEN ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int
       ELSE coalesce((SELECT received_tli FROM pg_stat_wal_receiver), c.timeline_id) END AS timeline,
  CASE WHEN NOT r.in_recovery THEN pg_current_wal_lsn()::text
       ELSE greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text END AS end_lsn,
  c.checkpoint_lsn::text AS checkpoint_lsn,
  c.redo_lsn::text AS redo_lsn,
  c.timeline_id AS checkpoint_timeline,
  c.next_xid AS checkpoint_next_xid,
  CASE WHEN NOT r.in_recovery THEN pg_snapshot_xmax(pg_current_snapshot())::text END AS xmax,
  (SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid')::int AS xid_locks
FROM (SELECT pg_is_in_recovery() AS in_recovery) r, pg_control_checkpoint() c
"""
# $1 is 'pg_wal/<8 hex digits>.history'; the one-argument form needs EXECUTE on pg_read_file(text).
READ_TIMELINE_HISTORY = "SELECT pg_read_file($1::text)"

# Transactions a writer committed between two LSNs of its own WAL (the data-risk statement of a
# candidate on another timeline branch); needs the pg_walinspect extension and its privileges.
COMMITS_BETWEEN = """
SELECT count(*)::int FROM pg_get_wal_records_info($1::text::pg_lsn, $2::text::pg_lsn)
WHERE resource_manager = 'Transaction' AND record_type IN ('COMMIT', 'COMMIT_PREPARED')
"""

# The old node's WAL past a timeline fork, judged by what it holds (checks/observe/divergence.py): first how
# far it may be read (PostgreSQL 15's pg_walinspect refuses an end past the flush LSN on a primary,
# past the replay LSN on a standby), then one row per resource manager and record type with how many
# records carry an XID and, for Transaction records, the first and last description (a COMMIT's
# begins with its commit time). Needs the pg_walinspect extension and EXECUTE on
# pg_get_wal_records_info (granted to pg_read_server_files).
WAL_READABLE_UPTO = """
SELECT least($1::text::pg_lsn, CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                                     ELSE pg_current_wal_flush_lsn() END)::text
"""
WAL_RECORDS_AFTER_FORK = """
SELECT resource_manager, record_type, count(*)::int AS records,
       count(*) FILTER (WHERE xid::text <> '0')::int AS with_xid,
       (array_agg(description ORDER BY start_lsn) FILTER (WHERE resource_manager = 'Transaction'))[1]
           AS first_description,
       (array_agg(description ORDER BY start_lsn DESC) FILTER (WHERE resource_manager = 'Transaction'))[1]
           AS last_description,
       min(start_lsn)::text AS first_lsn
FROM pg_get_wal_records_info($1::text::pg_lsn, $2::text::pg_lsn)
GROUP BY resource_manager, record_type
ORDER BY min(start_lsn)
"""

# The activity view (key a; checks/observe/activity.py): one node's sessions in one round trip, as JSON
# aggregates, asked only while the view is open. $1 is Odoo's database (NULL when not configured),
# $2 the most rows per list, $3 the most characters of a query text read. Client backends only, never
# this session. A lock wait's blockers are looked up in every backend (the startup process of a standby
# holds the locks of a recovery conflict); its age is pg_locks.waitstart (PostgreSQL 14 and later).
ACTIVITY = """
WITH a AS (
  SELECT pid, usename::text AS usename, coalesce(application_name, '') AS application_name,
         coalesce(state, 'not visible') AS state, datname::text AS datname, host(client_addr) AS client_addr,
         wait_event_type, wait_event,
         extract(epoch FROM now() - xact_start)::float8 AS xact_age_s,
         extract(epoch FROM now() - query_start)::float8 AS query_age_s,
         extract(epoch FROM now() - backend_start)::float8 AS backend_age_s,
         left(query, $3::int) AS query,
         CASE WHEN wait_event_type = 'Lock' THEN pg_blocking_pids(pid) END AS blocked_by
  FROM pg_stat_activity
  WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
), odoo AS (
  SELECT * FROM a
  WHERE (application_name ILIKE 'odoo%' OR datname = $1::text) AND application_name NOT LIKE 'failover-cockpit%'
), w AS (
  SELECT a.*, coalesce((SELECT extract(epoch FROM now() - min(l.waitstart))::float8
                        FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted), a.query_age_s) AS wait_age_s,
         (SELECT coalesce(json_agg(json_build_object(
                     'pid', b.pid, 'usename', b.usename, 'application_name', b.application_name,
                     'state', b.state, 'backend_type', b.backend_type) ORDER BY b.pid), '[]')
          FROM pg_stat_activity b WHERE b.pid = ANY(a.blocked_by)) AS blockers
  FROM a WHERE cardinality(a.blocked_by) > 0
)
SELECT now() AS server_now, pg_is_in_recovery() AS in_recovery,
  (SELECT count(*)::int FROM a) AS sessions,
  (SELECT count(*)::int FROM a WHERE query = '<insufficient privilege>') AS hidden_queries,
  (SELECT coalesce(json_object_agg(s.state, s.sessions), '{}')::text FROM (
      SELECT state, count(*)::int AS sessions FROM a GROUP BY 1) s) AS states,
  (SELECT coalesce(json_agg(g ORDER BY g.sessions DESC, g.application_name, g.state), '[]')::text FROM (
      SELECT application_name, state, count(*)::int AS sessions FROM a GROUP BY 1, 2
      ORDER BY 3 DESC, 1, 2 LIMIT $2::int) g) AS groups,
  (SELECT coalesce(json_agg(t ORDER BY t.xact_age_s DESC), '[]')::text FROM (
      SELECT pid, usename, application_name, state, client_addr, wait_event_type, wait_event,
             xact_age_s, query_age_s, query
      FROM a WHERE xact_age_s IS NOT NULL ORDER BY xact_age_s DESC LIMIT $2::int) t) AS longest,
  (SELECT count(*)::int FROM w) AS waiting_sessions,
  (SELECT coalesce(json_agg(x ORDER BY x.wait_age_s DESC NULLS LAST), '[]')::text FROM (
      SELECT pid, usename, application_name, state, client_addr, wait_event_type, wait_event,
             xact_age_s, query_age_s, wait_age_s, blocked_by, blockers, query
      FROM w ORDER BY wait_age_s DESC NULLS LAST LIMIT $2::int) x) AS waiting,
  (SELECT count(*)::int FROM odoo) AS odoo_sessions,
  (SELECT coalesce(json_agg(o ORDER BY o.backend_age_s DESC NULLS LAST), '[]')::text FROM (
      SELECT pid, usename, application_name, state, client_addr, datname, xact_age_s, query_age_s,
             backend_age_s, query
      FROM odoo ORDER BY backend_age_s DESC NULLS LAST LIMIT $2::int) o) AS odoo
"""
