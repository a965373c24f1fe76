import GRDB

/// The schema, as named append-only migrations: never edit a shipped one, add `v2_…`.
enum Migrations {
    /// Triggers that refuse to change `table`'s rows (and to delete them, unless `deletes` is false) with `message`.
    static func appendOnly(_ table: String, _ message: String, deletes: Bool = true) -> String {
        let refuse = "BEGIN SELECT RAISE(ABORT, '\(message)'); END;"
        var sql = "CREATE TRIGGER \(table)_is_append_only_update BEFORE UPDATE ON \(table) \(refuse)"
        if deletes { sql += "\nCREATE TRIGGER \(table)_is_append_only_delete BEFORE DELETE ON \(table) \(refuse)" }
        return sql
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration(
            "v1_executions",
            sql: """
                CREATE TABLE pipeline (
                    hash TEXT PRIMARY KEY NOT NULL CHECK (hash LIKE 'sha256:%'),
                    name TEXT NOT NULL CHECK (name <> ''),
                    definition TEXT NOT NULL CHECK (json_valid(definition)),
                    created_at REAL NOT NULL
                ) STRICT;
                CREATE TABLE execution (
                    id TEXT PRIMARY KEY NOT NULL CHECK (id <> ''),
                    pipeline_hash TEXT NOT NULL REFERENCES pipeline(hash),
                    pipeline_name TEXT NOT NULL,
                    parameters TEXT NOT NULL CHECK (json_valid(parameters)),
                    status TEXT NOT NULL
                        CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
                    error TEXT,
                    error_cause TEXT,
                    max_concurrent INTEGER NOT NULL CHECK (max_concurrent >= 1),
                    created_at REAL NOT NULL,
                    started_at REAL,
                    finished_at REAL,
                    owner_id TEXT,
                    owner_pid INTEGER,
                    lease_expires_at REAL,
                    cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
                    CHECK ((owner_id IS NULL) = (owner_pid IS NULL))
                ) STRICT;
                CREATE INDEX execution_by_pipeline ON execution(pipeline_hash, status);
                CREATE TABLE step (
                    execution_id TEXT NOT NULL REFERENCES execution(id),
                    name TEXT NOT NULL,
                    position INTEGER NOT NULL,
                    status TEXT NOT NULL CHECK (status IN
                        ('pending', 'running', 'waiting', 'succeeded', 'failed', 'caught', 'skipped', 'cancelled')),
                    attempt INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
                    outputs TEXT CHECK (outputs IS NULL OR json_valid(outputs)),
                    condition_result INTEGER CHECK (condition_result IN (0, 1)),
                    error TEXT,
                    error_cause TEXT,
                    caught_by TEXT,
                    cache_key TEXT,
                    cache_hit INTEGER NOT NULL DEFAULT 0 CHECK (cache_hit IN (0, 1)),
                    due_at REAL,
                    started_at REAL,
                    finished_at REAL,
                    PRIMARY KEY (execution_id, name)
                ) STRICT, WITHOUT ROWID;
                CREATE TABLE attempt (
                    execution_id TEXT NOT NULL,
                    step TEXT NOT NULL,
                    number INTEGER NOT NULL CHECK (number >= 1),
                    status TEXT NOT NULL
                        CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted', 'cancelled')),
                    started_at REAL NOT NULL,
                    finished_at REAL,
                    error TEXT,
                    error_cause TEXT,
                    PRIMARY KEY (execution_id, step, number),
                    FOREIGN KEY (execution_id, step) REFERENCES step(execution_id, name),
                    CHECK (status = 'running' OR finished_at IS NOT NULL)
                ) STRICT, WITHOUT ROWID;
                CREATE TABLE event (
                    sequence INTEGER PRIMARY KEY,
                    execution_id TEXT NOT NULL REFERENCES execution(id),
                    time REAL NOT NULL,
                    step TEXT,
                    attempt INTEGER,
                    kind TEXT NOT NULL CHECK (kind <> ''),
                    message TEXT NOT NULL DEFAULT ''
                ) STRICT;
                CREATE INDEX event_by_execution ON event(execution_id, sequence);
                \(appendOnly("event", "the event log is append-only"))
                CREATE TABLE artifact (
                    hash TEXT PRIMARY KEY NOT NULL CHECK (hash LIKE 'sha256:%'),
                    kind TEXT NOT NULL CHECK (kind IN ('file', 'folder')),
                    size INTEGER NOT NULL CHECK (size >= 0),
                    created_at REAL NOT NULL
                ) STRICT;
                CREATE TABLE artifact_use (
                    artifact_hash TEXT NOT NULL REFERENCES artifact(hash),
                    execution_id TEXT NOT NULL,
                    step TEXT NOT NULL,
                    attempt INTEGER NOT NULL,
                    role TEXT NOT NULL CHECK (role IN ('produced', 'consumed')),
                    port TEXT NOT NULL,
                    path TEXT NOT NULL,
                    UNIQUE (artifact_hash, execution_id, step, attempt, role, port),
                    FOREIGN KEY (execution_id, step, attempt) REFERENCES attempt(execution_id, step, number)
                ) STRICT;
                CREATE TABLE approval (
                    token_hash TEXT PRIMARY KEY NOT NULL CHECK (length(token_hash) = 64),
                    execution_id TEXT NOT NULL,
                    step TEXT NOT NULL,
                    attempt INTEGER NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
                    message TEXT NOT NULL,
                    reason TEXT,
                    created_at REAL NOT NULL,
                    expires_at REAL,
                    decided_at REAL,
                    FOREIGN KEY (execution_id, step) REFERENCES step(execution_id, name),
                    CHECK ((status = 'pending') = (decided_at IS NULL))
                ) STRICT;
                CREATE INDEX approval_by_step ON approval(execution_id, step);
                CREATE TABLE cache_entry (
                    key TEXT NOT NULL CHECK (key LIKE 'sha256:%'),
                    execution_id TEXT NOT NULL,
                    step TEXT NOT NULL,
                    attempt INTEGER NOT NULL,
                    outputs TEXT NOT NULL CHECK (json_valid(outputs)),
                    created_at REAL NOT NULL,
                    PRIMARY KEY (key, execution_id, step),
                    FOREIGN KEY (execution_id, step, attempt) REFERENCES attempt(execution_id, step, number)
                ) STRICT;
                """)
        migrator.registerMigration(
            "v2_registry",
            sql: """
                CREATE TABLE model_group (
                    name TEXT PRIMARY KEY NOT NULL CHECK (name <> ''),
                    created_at REAL NOT NULL
                ) STRICT;
                CREATE TABLE model_version (
                    group_name TEXT NOT NULL REFERENCES model_group(name),
                    version INTEGER NOT NULL CHECK (version >= 1),
                    artifact_path TEXT NOT NULL,
                    artifact_hash TEXT NOT NULL CHECK (artifact_hash LIKE 'sha256:%'),
                    metrics TEXT CHECK (metrics IS NULL OR json_valid(metrics)),
                    status TEXT NOT NULL CHECK (status IN ('PendingManualApproval', 'Approved', 'Rejected')),
                    execution_id TEXT,
                    step TEXT,
                    input_hashes TEXT NOT NULL CHECK (json_valid(input_hashes)),
                    created_at REAL NOT NULL,
                    PRIMARY KEY (group_name, version)
                ) STRICT;
                CREATE TABLE model_alias (
                    group_name TEXT NOT NULL,
                    alias TEXT NOT NULL CHECK (alias <> ''),
                    version INTEGER NOT NULL,
                    PRIMARY KEY (group_name, alias),
                    FOREIGN KEY (group_name, version) REFERENCES model_version(group_name, version)
                ) STRICT;
                CREATE TABLE model_event (
                    sequence INTEGER PRIMARY KEY,
                    group_name TEXT NOT NULL REFERENCES model_group(name),
                    version INTEGER,
                    kind TEXT NOT NULL CHECK (kind IN ('registered', 'approved', 'rejected', 'pending', 'alias')),
                    alias TEXT,
                    actor TEXT NOT NULL,
                    reason TEXT NOT NULL DEFAULT '',
                    time REAL NOT NULL
                ) STRICT;
                CREATE INDEX model_event_by_group ON model_event(group_name, sequence);
                \(appendOnly("model_event", "the model event log is append-only"))
                """)
        migrator.registerMigration(
            "v3_serving",
            sql: """
                CREATE TABLE model_tag (
                    group_name TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    key TEXT NOT NULL CHECK (key <> ''),
                    value TEXT NOT NULL,
                    PRIMARY KEY (group_name, version, key),
                    FOREIGN KEY (group_name, version) REFERENCES model_version(group_name, version)
                ) STRICT, WITHOUT ROWID;
                CREATE TABLE endpoint (
                    name TEXT PRIMARY KEY NOT NULL
                        CHECK (name <> '' AND name NOT GLOB '*[^A-Za-z0-9._-]*'),
                    capture_percentage REAL NOT NULL DEFAULT 0
                        CHECK (capture_percentage >= 0 AND capture_percentage <= 100),
                    created_at REAL NOT NULL
                ) STRICT;
                CREATE TABLE deployment (
                    id INTEGER PRIMARY KEY,
                    endpoint TEXT NOT NULL REFERENCES endpoint(name),
                    stage TEXT NOT NULL CHECK (stage <> '' AND stage NOT GLOB '*[^A-Za-z0-9_-]*'),
                    action TEXT NOT NULL CHECK (action IN ('deploy', 'promote', 'rollback', 'traffic')),
                    actor TEXT NOT NULL,
                    reason TEXT NOT NULL DEFAULT '',
                    time REAL NOT NULL,
                    source_stage TEXT,
                    previous_id INTEGER REFERENCES deployment(id),
                    restored_id INTEGER REFERENCES deployment(id),
                    CHECK ((action = 'promote') = (source_stage IS NOT NULL)),
                    CHECK ((action = 'rollback') = (restored_id IS NOT NULL))
                ) STRICT;
                CREATE INDEX deployment_by_stage ON deployment(endpoint, stage, time, id);
                CREATE TABLE deployment_variant (
                    deployment_id INTEGER NOT NULL REFERENCES deployment(id),
                    name TEXT NOT NULL CHECK (name <> '' AND name NOT GLOB '*[^A-Za-z0-9._-]*'),
                    group_name TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    weight REAL NOT NULL CHECK (weight >= 0 AND weight < 1e300),
                    shadow INTEGER NOT NULL DEFAULT 0 CHECK (shadow IN (0, 1)),
                    PRIMARY KEY (deployment_id, name),
                    FOREIGN KEY (group_name, version) REFERENCES model_version(group_name, version)
                ) STRICT, WITHOUT ROWID;
                CREATE UNIQUE INDEX deployment_has_one_shadow ON deployment_variant(deployment_id) WHERE shadow = 1;
                \(appendOnly("deployment", "the deployment history is append-only"))
                \(appendOnly("deployment_variant", "the deployment history is append-only"))
                CREATE TABLE api_key (
                    id TEXT PRIMARY KEY NOT NULL CHECK (substr(id, 1, 4) = 'key_' AND length(id) > 4),
                    name TEXT NOT NULL CHECK (name <> ''),
                    hash TEXT NOT NULL UNIQUE CHECK (length(hash) = 64 AND hash NOT GLOB '*[^0-9a-f]*'),
                    created_at REAL NOT NULL,
                    revoked_at REAL CHECK (revoked_at IS NULL OR revoked_at >= created_at),
                    rate REAL CHECK (rate IS NULL OR rate > 0),
                    burst INTEGER CHECK (burst IS NULL OR burst >= 1),
                    daily_quota INTEGER CHECK (daily_quota IS NULL OR daily_quota >= 1),
                    monthly_quota INTEGER CHECK (monthly_quota IS NULL OR monthly_quota >= 1),
                    endpoint TEXT REFERENCES endpoint(name),
                    CHECK ((rate IS NULL) = (burst IS NULL))
                ) STRICT;
                CREATE TRIGGER api_key_keeps_its_identity BEFORE UPDATE OF id, hash, created_at ON api_key
                    BEGIN SELECT RAISE(ABORT, 'an API key''s id, hash and creation time never change'); END;
                CREATE TRIGGER api_key_revocation_is_final BEFORE UPDATE OF revoked_at ON api_key
                    WHEN OLD.revoked_at IS NOT NULL
                    BEGIN SELECT RAISE(ABORT, 'a revoked API key stays revoked'); END;
                CREATE TRIGGER api_key_is_never_deleted BEFORE DELETE ON api_key
                    BEGIN SELECT RAISE(ABORT, 'API keys are revoked, never deleted'); END;
                -- A counter the server polls to notice deploys and key changes made by other processes.
                CREATE TABLE serving_change (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    counter INTEGER NOT NULL
                ) STRICT;
                INSERT INTO serving_change (id, counter) VALUES (1, 0);
                CREATE TRIGGER serving_change_on_deployment AFTER INSERT ON deployment
                    BEGIN UPDATE serving_change SET counter = counter + 1; END;
                CREATE TRIGGER serving_change_on_endpoint AFTER UPDATE ON endpoint
                    BEGIN UPDATE serving_change SET counter = counter + 1; END;
                CREATE TRIGGER serving_change_on_new_key AFTER INSERT ON api_key
                    BEGIN UPDATE serving_change SET counter = counter + 1; END;
                CREATE TRIGGER serving_change_on_key_update AFTER UPDATE ON api_key
                    BEGIN UPDATE serving_change SET counter = counter + 1; END;
                """)
        migrator.registerMigration(
            "v4_engine",
            sql: """
                ALTER TABLE cache_entry ADD COLUMN components TEXT
                    CHECK (components IS NULL OR json_valid(components));
                CREATE TABLE map_item (
                    execution_id TEXT NOT NULL REFERENCES execution(id),
                    step TEXT NOT NULL,
                    item_index INTEGER NOT NULL CHECK (item_index >= 0),
                    item_hash TEXT NOT NULL,
                    attempt INTEGER NOT NULL CHECK (attempt >= 1),
                    outputs TEXT NOT NULL CHECK (json_valid(outputs)),
                    created_at REAL NOT NULL,
                    PRIMARY KEY (execution_id, step, item_index)
                ) STRICT;
                """)
        migrator.registerMigration(
            "v5_features",
            sql: """
                CREATE TABLE feature_group (
                    name TEXT PRIMARY KEY NOT NULL CHECK (name <> ''),
                    record_identifier TEXT NOT NULL CHECK (record_identifier <> ''),
                    event_time TEXT NOT NULL CHECK (event_time <> ''),
                    features TEXT NOT NULL CHECK (json_valid(features)),
                    online_store INTEGER NOT NULL CHECK (online_store IN (0, 1)),
                    created_at REAL NOT NULL
                ) STRICT;
                CREATE TABLE feature_record (
                    sequence INTEGER PRIMARY KEY,
                    group_name TEXT NOT NULL REFERENCES feature_group(name),
                    record_id TEXT NOT NULL,
                    event_time TEXT NOT NULL,
                    features TEXT NOT NULL CHECK (json_valid(features)),
                    written_at REAL NOT NULL,
                    UNIQUE (group_name, record_id, event_time, features)
                ) STRICT;
                CREATE INDEX feature_record_by_id ON feature_record(group_name, record_id, event_time, sequence);
                \(appendOnly("feature_record", "feature records are append-only", deletes: false))
                """)
        // Quota counts per key; written by the server every poll, read back when it starts.
        migrator.registerMigration(
            "v6_key_usage",
            sql: """
                CREATE TABLE api_key_usage (
                    key_id TEXT PRIMARY KEY NOT NULL REFERENCES api_key(id),
                    day INTEGER NOT NULL,
                    day_count INTEGER NOT NULL CHECK (day_count >= 0),
                    month INTEGER NOT NULL,
                    month_count INTEGER NOT NULL CHECK (month_count >= 0)
                ) STRICT;
                """)
        // An endpoint's predict-by-id setting, as JSON (`FeatureLookup`); NULL = off.
        migrator.registerMigration(
            "v7_feature_lookup",
            sql: """
                ALTER TABLE endpoint ADD COLUMN feature_lookup TEXT
                    CHECK (feature_lookup IS NULL OR json_valid(feature_lookup));
                """)
        // The process each attempt started, so a driver taking an execution over can adopt or stop it; and what
        // it did (`attempt.takeover`).
        migrator.registerMigration(
            "v8_attempt_processes",
            sql: """
                CREATE TABLE attempt_process (
                    execution_id TEXT NOT NULL,
                    step TEXT NOT NULL,
                    number INTEGER NOT NULL,
                    work_directory TEXT NOT NULL CHECK (work_directory <> ''),
                    process_group INTEGER NOT NULL CHECK (process_group > 0),
                    start_time INTEGER NOT NULL CHECK (start_time >= 0),
                    PRIMARY KEY (execution_id, step, number, work_directory),
                    FOREIGN KEY (execution_id, step, number) REFERENCES attempt(execution_id, step, number)
                ) STRICT, WITHOUT ROWID;
                ALTER TABLE attempt ADD COLUMN takeover TEXT CHECK (takeover IN ('adopted', 'killed', 'gone'));
                """)
        registerModuleCatalog(&migrator)
        // Baselines attached to model versions; monitoring schedules and runs per endpoint stage.
        migrator.registerMigration(
            "v10_monitoring",
            sql: """
                CREATE TABLE monitor_baseline (
                    group_name TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    statistics_hash TEXT NOT NULL CHECK (statistics_hash LIKE 'sha256:%'),
                    constraints_hash TEXT NOT NULL CHECK (constraints_hash LIKE 'sha256:%'),
                    reference_hash TEXT NOT NULL CHECK (reference_hash LIKE 'sha256:%'),
                    features TEXT NOT NULL CHECK (json_valid(features)),
                    created_at REAL NOT NULL,
                    PRIMARY KEY (group_name, version),
                    FOREIGN KEY (group_name, version) REFERENCES model_version(group_name, version)
                ) STRICT;
                CREATE TABLE monitor_schedule (
                    endpoint TEXT NOT NULL REFERENCES endpoint(name),
                    stage TEXT NOT NULL,
                    every_seconds REAL NOT NULL CHECK (every_seconds > 0),
                    notify TEXT NOT NULL CHECK (json_valid(notify)),
                    created_at REAL NOT NULL,
                    PRIMARY KEY (endpoint, stage)
                ) STRICT;
                CREATE TABLE monitor_run (
                    id TEXT PRIMARY KEY NOT NULL,
                    endpoint TEXT NOT NULL REFERENCES endpoint(name),
                    stage TEXT NOT NULL,
                    group_name TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    window_start REAL NOT NULL,
                    window_end REAL NOT NULL CHECK (window_end >= window_start),
                    row_count INTEGER NOT NULL CHECK (row_count >= 0),
                    violation_count INTEGER NOT NULL CHECK (violation_count >= 0),
                    drifted_count INTEGER NOT NULL CHECK (drifted_count >= 0),
                    dataset_drift INTEGER NOT NULL CHECK (dataset_drift IN (0, 1)),
                    report TEXT NOT NULL CHECK (json_valid(report)),
                    folder TEXT NOT NULL,
                    created_at REAL NOT NULL
                ) STRICT;
                CREATE INDEX monitor_run_by_stage ON monitor_run(endpoint, stage, window_end);
                """)
        registerTriggerMigrations(&migrator)
        // The console lists executions newest first, filtered by status or pipeline, 50 at a time.
        migrator.registerMigration(
            "v11_execution_listing",
            sql: """
                CREATE INDEX execution_by_time ON execution(created_at, id);
                CREATE INDEX execution_by_status_time ON execution(status, created_at, id);
                CREATE INDEX execution_by_name_time ON execution(pipeline_name, created_at, id);
                CREATE INDEX approval_by_status ON approval(status);
                """)
        registerMonitorQualityMigration(&migrator)
        return migrator
    }
}

extension DatabaseMigrator {
    /// Registers migration `name` as the SQL script `sql`.
    mutating func registerMigration(_ name: String, sql: String) {
        registerMigration(name) { db in try db.execute(sql: sql) }
    }
}
