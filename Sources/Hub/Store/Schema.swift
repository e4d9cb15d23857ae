/// The hub's schema, as versioned migrations compiled into the binary and applied at start under
/// an advisory lock (`MigrationRunner`). A migration is never edited once released: changes come
/// as a new version.
enum Schema {
    static let migrations: [Migration] = [
        Migration(
            version: 1, name: "leaves, groups, cursors, counts, samples, scrapes, status changes",
            statements: [
                """
                CREATE TABLE leaves (
                    id bigserial PRIMARY KEY,
                    url text NOT NULL UNIQUE,
                    job text NOT NULL,
                    name text NOT NULL DEFAULT '',
                    team text NOT NULL DEFAULT '',
                    epoch text NOT NULL DEFAULT '',
                    started_at timestamptz,
                    external_labels jsonb NOT NULL DEFAULT '{}',
                    first_scrape timestamptz NOT NULL DEFAULT now(),
                    last_applied timestamptz
                )
                """,
                """
                CREATE TABLE leaf_services (
                    leaf_id bigint NOT NULL REFERENCES leaves ON DELETE CASCADE,
                    service text NOT NULL,
                    targets_total integer NOT NULL,
                    targets_up integer NOT NULL,
                    PRIMARY KEY (leaf_id, service)
                )
                """,
                // severity: 0 info, 1 warning, 2 error, so that the most severe is the greatest.
                """
                CREATE TABLE groups (
                    id bigserial PRIMARY KEY,
                    team text NOT NULL,
                    service text NOT NULL,
                    aggregation_key text NOT NULL,
                    class text NOT NULL DEFAULT '',
                    message text NOT NULL DEFAULT '',
                    stacktrace text NOT NULL DEFAULT '',
                    severity smallint NOT NULL DEFAULT 2,
                    first_seen timestamptz,
                    last_seen timestamptz,
                    total bigint NOT NULL DEFAULT 0,
                    status text NOT NULL DEFAULT 'unresolved' CHECK (status IN ('unresolved', 'resolved', 'regressed', 'ignored')),
                    resolved_total bigint,
                    ignored_until timestamptz,
                    ignored_until_total bigint,
                    status_changed_at timestamptz,
                    status_changed_by text,
                    UNIQUE (team, service, aggregation_key)
                )
                """,
                "CREATE INDEX groups_last_seen ON groups (last_seen DESC NULLS LAST, id DESC)",
                "CREATE INDEX groups_first_seen ON groups (first_seen DESC NULLS LAST, id DESC)",
                "CREATE INDEX groups_total ON groups (total DESC, id DESC)",
                "CREATE INDEX groups_team_last_seen ON groups (team, service, last_seen DESC NULLS LAST, id DESC)",
                "CREATE INDEX groups_status_last_seen ON groups (status, last_seen DESC NULLS LAST, id DESC)",
                """
                CREATE TABLE cursors (
                    leaf_id bigint NOT NULL REFERENCES leaves ON DELETE CASCADE,
                    group_id bigint NOT NULL REFERENCES groups ON DELETE CASCADE,
                    epoch text NOT NULL,
                    last_total bigint NOT NULL,
                    PRIMARY KEY (leaf_id, group_id)
                )
                """,
                // Occurrences per group and minute, partitioned by day so that retention drops
                // whole partitions (`Retention`).
                """
                CREATE TABLE group_counts (
                    group_id bigint NOT NULL,
                    minute timestamptz NOT NULL,
                    count bigint NOT NULL,
                    PRIMARY KEY (group_id, minute)
                ) PARTITION BY RANGE (minute)
                """,
                "CREATE INDEX group_counts_minute ON group_counts (minute, group_id)",
                """
                CREATE TABLE samples (
                    group_id bigint NOT NULL REFERENCES groups ON DELETE CASCADE,
                    uuid text NOT NULL,
                    time timestamptz,
                    leaf_id bigint REFERENCES leaves ON DELETE SET NULL,
                    sample jsonb NOT NULL,
                    PRIMARY KEY (group_id, uuid)
                )
                """,
                "CREATE INDEX samples_newest ON samples (group_id, time DESC NULLS LAST)",
                """
                CREATE TABLE scrapes (
                    id bigserial PRIMARY KEY,
                    leaf_id bigint REFERENCES leaves ON DELETE CASCADE,
                    url text NOT NULL,
                    time timestamptz NOT NULL,
                    duration_seconds double precision NOT NULL,
                    outcome text NOT NULL CHECK (outcome IN ('applied', 'unchanged', 'failed')),
                    error text,
                    epoch text,
                    groups_changed integer NOT NULL DEFAULT 0,
                    occurrences_added bigint NOT NULL DEFAULT 0
                )
                """,
                "CREATE INDEX scrapes_time ON scrapes (time DESC)",
                "CREATE INDEX scrapes_leaf_time ON scrapes (leaf_id, time DESC)",
                """
                CREATE TABLE status_changes (
                    id bigserial PRIMARY KEY,
                    group_id bigint NOT NULL REFERENCES groups ON DELETE CASCADE,
                    at timestamptz NOT NULL DEFAULT now(),
                    actor text NOT NULL,
                    from_status text NOT NULL,
                    to_status text NOT NULL,
                    ignored_until timestamptz,
                    ignored_until_total bigint,
                    comment text
                )
                """,
                "CREATE INDEX status_changes_group ON status_changes (group_id, at DESC)",
            ]),
        Migration(
            version: 2, name: "first and last seen always set, so that lists walk their indexes",
            statements: [
                """
                UPDATE groups SET first_seen = coalesce(first_seen, last_seen, now()), last_seen = coalesce(last_seen, first_seen, now())
                WHERE first_seen IS NULL OR last_seen IS NULL
                """,
                "ALTER TABLE groups ALTER COLUMN first_seen SET NOT NULL, ALTER COLUMN last_seen SET NOT NULL",
                "DROP INDEX groups_last_seen",
                "DROP INDEX groups_first_seen",
                "CREATE INDEX groups_last_seen ON groups (last_seen DESC, id DESC)",
                "CREATE INDEX groups_first_seen ON groups (first_seen DESC, id DESC)",
                "CREATE INDEX groups_team_service_totals ON groups (team, service) INCLUDE (total, last_seen)",
            ]),
        Migration(
            version: 3, name: "hourly history, window counts, trigram search, summary index",
            statements: [
                // Whole hours of `group_counts`, kept by `FederationApply` in the same transaction,
                // so that long ranges and day-long windows read 24 rows per group instead of 1,440.
                """
                CREATE TABLE group_counts_hourly (
                    group_id bigint NOT NULL,
                    hour timestamptz NOT NULL,
                    count bigint NOT NULL,
                    PRIMARY KEY (group_id, hour)
                )
                """,
                """
                INSERT INTO group_counts_hourly (group_id, hour, count)
                SELECT group_id, date_trunc('hour', minute, 'UTC'), sum(count) FROM group_counts GROUP BY 1, 2
                """,
                "CREATE INDEX group_counts_hourly_hour ON group_counts_hourly (hour) INCLUDE (group_id, count)",
                // Occurrences of each group in the standard windows, refreshed every minute by
                // `WindowRefresh`, so that sorting by a window walks an index. Zero counts have no row.
                """
                CREATE TABLE group_windows (
                    window_seconds integer NOT NULL,
                    group_id bigint NOT NULL,
                    count bigint NOT NULL CHECK (count > 0),
                    PRIMARY KEY (window_seconds, group_id)
                )
                """,
                "CREATE INDEX group_windows_count ON group_windows (window_seconds, count DESC, group_id DESC)",
                // Text search with ILIKE '%...%' over the four searched columns (pg_trgm is a trusted
                // extension: a database owner may create it).
                "CREATE EXTENSION IF NOT EXISTS pg_trgm",
                "CREATE INDEX groups_class_trgm ON groups USING gin (class gin_trgm_ops)",
                "CREATE INDEX groups_message_trgm ON groups USING gin (message gin_trgm_ops)",
                "CREATE INDEX groups_key_trgm ON groups USING gin (aggregation_key gin_trgm_ops)",
                "CREATE INDEX groups_stacktrace_trgm ON groups USING gin (stacktrace gin_trgm_ops)",
                // The teams' summary (counts per status, window counts joined by id) from the index alone.
                "DROP INDEX groups_team_service_totals",
                "CREATE INDEX groups_team_service_summary ON groups (team, service) INCLUDE (id, total, last_seen, status, ignored_until)",
            ]),
        Migration(
            version: 4, name: "what a scrape left out",
            statements: [
                // Groups and samples `StorablePayload` could not make storable: how many, and the first few by name.
                "ALTER TABLE scrapes ADD COLUMN skipped integer NOT NULL DEFAULT 0, ADD COLUMN skipped_detail text",
            ]),
        Migration(
            version: 5, name: "series: a group's counts per target-label set",
            statements: [
                // `labels` are the target labels the leaf counted by, with the leaf's external
                // labels but `team` added: what the query language slices by.
                """
                CREATE TABLE series (
                    id bigserial PRIMARY KEY,
                    group_id bigint NOT NULL REFERENCES groups ON DELETE CASCADE,
                    labels jsonb NOT NULL,
                    total bigint NOT NULL DEFAULT 0,
                    UNIQUE (group_id, labels)
                )
                """,
                "CREATE INDEX series_labels ON series USING gin (labels jsonb_path_ops)",
                """
                CREATE TABLE series_cursors (
                    leaf_id bigint NOT NULL REFERENCES leaves ON DELETE CASCADE,
                    series_id bigint NOT NULL REFERENCES series ON DELETE CASCADE,
                    epoch text NOT NULL,
                    last_total bigint NOT NULL,
                    PRIMARY KEY (leaf_id, series_id)
                )
                """,
                // Occurrences per series and minute, partitioned by day as `group_counts` is.
                """
                CREATE TABLE series_counts (
                    series_id bigint NOT NULL,
                    minute timestamptz NOT NULL,
                    count bigint NOT NULL,
                    PRIMARY KEY (series_id, minute)
                ) PARTITION BY RANGE (minute)
                """,
                "CREATE INDEX series_counts_minute ON series_counts (minute, series_id)",
                "CREATE TABLE series_counts_default PARTITION OF series_counts DEFAULT",
                // What was counted before series: one series per group without labels, with the
                // group's total and history. No series cursors: a leaf's first report with series
                // is reconciled with its group cursor (`FederationApply.seriesSteps`).
                "INSERT INTO series (group_id, labels, total) SELECT id, '{}'::jsonb, total FROM groups",
                "INSERT INTO series_counts (series_id, minute, count) SELECT s.id, g.minute, g.count FROM group_counts g JOIN series s ON s.group_id = g.group_id",
            ]),
        Migration(
            version: 6, name: "minute history read from its indexes alone",
            statements: [
                // The hub writes the minutes in time order, so one counter's minutes lie on as
                // many heap pages as it has rows: with the count in the index, reading a month of
                // one series, or the minutes that cut hours of many, touches the index only.
                "ALTER TABLE group_counts DROP CONSTRAINT group_counts_pkey, ADD PRIMARY KEY (group_id, minute) INCLUDE (count)",
                "ALTER TABLE series_counts DROP CONSTRAINT series_counts_pkey, ADD PRIMARY KEY (series_id, minute) INCLUDE (count)",
                "DROP INDEX group_counts_minute",
                "CREATE INDEX group_counts_minute ON group_counts (minute, group_id) INCLUDE (count)",
                "DROP INDEX series_counts_minute",
                "CREATE INDEX series_counts_minute ON series_counts (minute, series_id) INCLUDE (count)",
            ]),
        Migration(
            version: 7, name: "rules: recorded series, alert series and alert state",
            statements: [
                // What recording rules write, and `ALERTS`/`ALERTS_FOR_STATE`: series queried like
                // any other, sampled at each evaluation; `stale` marks a series its rule stopped returning.
                """
                CREATE TABLE rule_series (
                    id bigserial PRIMARY KEY,
                    name text NOT NULL,
                    labels jsonb NOT NULL,
                    UNIQUE (name, labels)
                )
                """,
                """
                CREATE TABLE rule_samples (
                    series_id bigint NOT NULL REFERENCES rule_series ON DELETE CASCADE,
                    time timestamptz NOT NULL,
                    value double precision NOT NULL,
                    stale boolean NOT NULL DEFAULT false,
                    PRIMARY KEY (series_id, time) INCLUDE (value, stale)
                )
                """,
                "CREATE INDEX rule_samples_time ON rule_samples (time)",
                // Each alerting rule's alerts (`AlertingRuleState` as JSON), so that a restart
                // neither loses a pending alert's progress nor sends a firing one as new.
                """
                CREATE TABLE rule_alerts (
                    rule_group text NOT NULL,
                    rule text NOT NULL,
                    state jsonb NOT NULL,
                    updated_at timestamptz NOT NULL,
                    PRIMARY KEY (rule_group, rule)
                )
                """,
            ]),
        Migration(
            version: 8, name: "bug fingerprints: one bug across teams",
            statements: [
                // `BugFingerprint` of the group's class and stack trace, written at ingest; ''
                // until then, and for groups stored before this version until `FingerprintBackfill`
                // computes theirs at start (the normaliser is Swift, not SQL).
                "ALTER TABLE groups ADD COLUMN fingerprint text NOT NULL DEFAULT ''",
                // The cross-team list groups by fingerprint from this index alone.
                "CREATE INDEX groups_fingerprint ON groups (fingerprint) INCLUDE (team, service, last_seen)",
            ]),
        Migration(
            version: 9, name: "deploys: each service's deploys as its leaves saw them",
            statements: [
                // `deploy_id` is `FederatedDeploy.id` (its version, or the time of a deploy seen
                // only as restarts); a deploy reported again keeps its earliest time and most instances.
                """
                CREATE TABLE deploys (
                    team text NOT NULL,
                    service text NOT NULL,
                    deploy_id text NOT NULL,
                    at timestamptz NOT NULL,
                    version text,
                    label text,
                    instances integer NOT NULL,
                    PRIMARY KEY (team, service, deploy_id)
                )
                """,
                "CREATE INDEX deploys_newest ON deploys (team, service, at DESC)",
            ]),
        Migration(
            version: 10, name: "searched text apart from the counters",
            statements: [
                // An update of a group's counters rewrote all its index entries (no update of an
                // indexed column is HOT), the four trigram indexes' hundreds of entries per row
                // included: half of what PostgreSQL spent applying a scrape. The searched text is
                // kept again here, written by triggers only when it changes.
                """
                CREATE TABLE group_search (
                    group_id bigint PRIMARY KEY REFERENCES groups ON DELETE CASCADE,
                    class text NOT NULL,
                    message text NOT NULL,
                    aggregation_key text NOT NULL,
                    stacktrace text NOT NULL
                )
                """,
                "INSERT INTO group_search (group_id, class, message, aggregation_key, stacktrace) SELECT id, class, message, aggregation_key, stacktrace FROM groups",
                """
                CREATE FUNCTION group_search_write() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    INSERT INTO group_search (group_id, class, message, aggregation_key, stacktrace)
                    VALUES (NEW.id, NEW.class, NEW.message, NEW.aggregation_key, NEW.stacktrace)
                    ON CONFLICT (group_id) DO UPDATE SET class = EXCLUDED.class, message = EXCLUDED.message,
                        aggregation_key = EXCLUDED.aggregation_key, stacktrace = EXCLUDED.stacktrace;
                    RETURN NULL;
                END
                $$
                """,
                "CREATE TRIGGER groups_search_insert AFTER INSERT ON groups FOR EACH ROW EXECUTE FUNCTION group_search_write()",
                // The condition is checked without calling the function: an update that leaves
                // the text as it was costs a comparison.
                """
                CREATE TRIGGER groups_search_update AFTER UPDATE ON groups FOR EACH ROW
                WHEN ((OLD.class, OLD.message, OLD.aggregation_key, OLD.stacktrace) IS DISTINCT FROM (NEW.class, NEW.message, NEW.aggregation_key, NEW.stacktrace))
                EXECUTE FUNCTION group_search_write()
                """,
                "DROP INDEX groups_class_trgm, groups_message_trgm, groups_key_trgm, groups_stacktrace_trgm",
                "CREATE INDEX group_search_class_trgm ON group_search USING gin (class gin_trgm_ops)",
                "CREATE INDEX group_search_message_trgm ON group_search USING gin (message gin_trgm_ops)",
                "CREATE INDEX group_search_key_trgm ON group_search USING gin (aggregation_key gin_trgm_ops)",
                "CREATE INDEX group_search_stacktrace_trgm ON group_search USING gin (stacktrace gin_trgm_ops)",
            ]),
        Migration(
            version: 11, name: "groups whose window counts may have moved",
            statements: [
                // Marked by the ingest with the counts, taken by `WindowRefresh`, which then sums
                // only these groups' windows (and the groups whose minutes left a window) instead
                // of every group's: a quarter of what PostgreSQL spent at 1,000 leaves.
                "CREATE TABLE window_changes (group_id bigint PRIMARY KEY)",
            ]),
    ]

}
