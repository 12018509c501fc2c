"""The schema and its migrations: ``_MIGRATIONS[v]`` takes a workspace from schema version ``v`` to ``v + 1``
(``StoreBase._migrate`` runs the ones a workspace lacks, each in one transaction). Every table of the workspace is
created here; each concern's module of ``core.store`` is the only home of its tables' queries."""

from __future__ import annotations

SCHEMA_VERSION = 7

_MIGRATIONS: list[list[str]] = [
    # 0 -> 1: the first schema.
    [
        "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
        "CREATE SEQUENCE IF NOT EXISTS source_seq START 1",
        """CREATE TABLE IF NOT EXISTS sources (
            source_id INTEGER PRIMARY KEY DEFAULT nextval('source_seq'),
            name VARCHAR NOT NULL,
            path VARCHAR,
            sha256 VARCHAR NOT NULL,
            format VARCHAR NOT NULL,
            mapping VARCHAR,
            records BIGINT NOT NULL,
            rejected BIGINT NOT NULL DEFAULT 0,
            imported_at TIMESTAMP NOT NULL,
            imported_by VARCHAR NOT NULL
        )""",
        "CREATE SEQUENCE IF NOT EXISTS sample_seq START 1",
        """CREATE TABLE IF NOT EXISTS samples (
            rid BIGINT NOT NULL,
            id VARCHAR NOT NULL,
            source_id INTEGER NOT NULL,
            source_index BIGINT NOT NULL,
            format VARCHAR NOT NULL,
            raw VARCHAR NOT NULL,
            messages VARCHAR,
            tools VARCHAR,
            prompt VARCHAR NOT NULL,
            answer VARCHAR NOT NULL,
            n_turns INTEGER NOT NULL,
            content_hash VARCHAR NOT NULL,
            dup_of VARCHAR,
            status VARCHAR NOT NULL DEFAULT 'pending',
            tags VARCHAR[] NOT NULL DEFAULT [],
            note VARCHAR NOT NULL DEFAULT '',
            version INTEGER NOT NULL DEFAULT 1,
            created_at TIMESTAMP NOT NULL,
            updated_at TIMESTAMP NOT NULL,
            updated_by VARCHAR NOT NULL
        )""",
        "CREATE SEQUENCE IF NOT EXISTS event_seq START 1",
        """CREATE TABLE IF NOT EXISTS events (
            event_id BIGINT PRIMARY KEY DEFAULT nextval('event_seq'),
            sample_id VARCHAR,
            ts TIMESTAMP NOT NULL,
            user_name VARCHAR NOT NULL,
            action VARCHAR NOT NULL,
            field VARCHAR,
            before VARCHAR,
            after VARCHAR,
            version INTEGER
        )""",
        "CREATE SEQUENCE IF NOT EXISTS job_seq START 1",
        """CREATE TABLE IF NOT EXISTS jobs (
            job_id BIGINT PRIMARY KEY DEFAULT nextval('job_seq'),
            kind VARCHAR NOT NULL,
            params VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            done BIGINT NOT NULL DEFAULT 0,
            total BIGINT NOT NULL DEFAULT 0,
            message VARCHAR NOT NULL DEFAULT '',
            error VARCHAR,
            cancel_requested BOOLEAN NOT NULL DEFAULT false,
            created_by VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            updated_at TIMESTAMP NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS scorers (
            name VARCHAR PRIMARY KEY,
            key VARCHAR NOT NULL,
            columns VARCHAR NOT NULL,
            params VARCHAR NOT NULL,
            updated_at TIMESTAMP NOT NULL
        )""",
    ],
    # 1 -> 2: the map, task labels, mixture plans and selections.
    [
        # One map per embedding set: a 2-D projection and clusters of each content.
        """CREATE TABLE IF NOT EXISTS maps (
            map_key VARCHAR PRIMARY KEY,
            embedding_key VARCHAR NOT NULL,
            k INTEGER NOT NULL,
            seed INTEGER NOT NULL,
            contents BIGINT NOT NULL,
            cluster_names VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS map_points (
            map_key VARCHAR NOT NULL,
            content_hash VARCHAR NOT NULL,
            x FLOAT NOT NULL,
            y FLOAT NOT NULL,
            cluster INTEGER NOT NULL
        )""",
        # A sample's task label: the machine's suggestion (with its confidence) or a person's confirmation, which is
        # curation state and goes through update_sample (versioned and audited).
        "ALTER TABLE samples ADD COLUMN IF NOT EXISTS task_label VARCHAR",
        "ALTER TABLE samples ADD COLUMN IF NOT EXISTS task_label_confidence DOUBLE",
        "ALTER TABLE samples ADD COLUMN IF NOT EXISTS task_label_source VARCHAR",
        """CREATE TABLE IF NOT EXISTS plans (
            name VARCHAR PRIMARY KEY,
            plan VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS selections (
            name VARCHAR PRIMARY KEY,
            recipe VARCHAR NOT NULL,
            recipe_hash VARCHAR NOT NULL,
            log VARCHAR NOT NULL,
            samples BIGINT NOT NULL,
            stages INTEGER NOT NULL DEFAULT 1,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS selection_members (
            selection VARCHAR NOT NULL,
            sample_id VARCHAR NOT NULL,
            position BIGINT NOT NULL,
            stage INTEGER NOT NULL DEFAULT 1
        )""",
    ],
    # 2 -> 3: accounts, sign-in sessions and assignments (see core/team/accounts.py).
    [
        """CREATE TABLE IF NOT EXISTS users (
            name VARCHAR PRIMARY KEY,
            role VARCHAR NOT NULL,
            password_hash VARCHAR NOT NULL,
            disabled BOOLEAN NOT NULL DEFAULT false,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR NOT NULL
        )""",
        # Only the SHA-256 of a session token is stored: a copy of the file does not hand out live sessions.
        """CREATE TABLE IF NOT EXISTS sessions (
            token_hash VARCHAR PRIMARY KEY,
            user_name VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            expires_at TIMESTAMP NOT NULL
        )""",
        # Which annotator reviews which sample; several rows per sample when a lead asks for overlap.
        """CREATE TABLE IF NOT EXISTS assignments (
            sample_id VARCHAR NOT NULL,
            user_name VARCHAR NOT NULL,
            assigned_at TIMESTAMP NOT NULL,
            assigned_by VARCHAR NOT NULL,
            PRIMARY KEY (sample_id, user_name)
        )""",
    ],
    # 3 -> 4: annotations, one per annotator of a sample several annotators review (see core/team/reviews.py). The sample
    # itself stays as it was until a lead adjudicates; ``messages`` is NULL when the annotator left them unedited.
    [
        """CREATE TABLE IF NOT EXISTS annotations (
            sample_id VARCHAR NOT NULL,
            user_name VARCHAR NOT NULL,
            status VARCHAR,
            task_label VARCHAR,
            messages VARCHAR,
            tags VARCHAR[] NOT NULL DEFAULT [],
            note VARCHAR NOT NULL DEFAULT '',
            ts TIMESTAMP NOT NULL,
            based_on INTEGER NOT NULL,
            PRIMARY KEY (sample_id, user_name)
        )""",
    ],
    # 4 -> 5: why a task label was suggested (the evidence a rule saw, or the example it is nearest to).
    ["ALTER TABLE samples ADD COLUMN IF NOT EXISTS task_label_reason VARCHAR"],
    # 5 -> 6: evaluations of a selection by fine-tuning (see core/evaluation/): the configuration and held-out split,
    # one row per run (planned, then done), each run's loss per eval item, and the answers generated for reading.
    [
        """CREATE TABLE IF NOT EXISTS evaluations (
            name VARCHAR PRIMARY KEY,
            config VARCHAR NOT NULL,
            plan VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS evaluation_runs (
            evaluation VARCHAR NOT NULL,
            run VARCHAR NOT NULL,
            position INTEGER NOT NULL,
            kind VARCHAR NOT NULL,
            seed INTEGER,
            train_ids VARCHAR NOT NULL,
            status VARCHAR NOT NULL DEFAULT 'planned',
            train_samples INTEGER,
            adapter_dir VARCHAR,
            curve VARCHAR,
            train_tokens BIGINT,
            seconds DOUBLE,
            versions VARCHAR,
            finished_at TIMESTAMP,
            PRIMARY KEY (evaluation, run)
        )""",
        """CREATE TABLE IF NOT EXISTS evaluation_losses (
            evaluation VARCHAR NOT NULL,
            run VARCHAR NOT NULL,
            eval_set VARCHAR NOT NULL,
            item INTEGER NOT NULL,
            nll DOUBLE NOT NULL,
            tokens INTEGER NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS evaluation_answers (
            evaluation VARCHAR NOT NULL,
            run VARCHAR NOT NULL,
            eval_set VARCHAR NOT NULL,
            item INTEGER NOT NULL,
            answer VARCHAR NOT NULL
        )""",
    ],
    # 6 -> 7: eval sets (see core/decontamination/): test sets registered in the workspace, never as samples, whose
    # items training samples are checked against. ``item`` counts from 1 in file order.
    [
        """CREATE TABLE IF NOT EXISTS eval_sets (
            name VARCHAR PRIMARY KEY,
            file_name VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL,
            format VARCHAR NOT NULL,
            mapping VARCHAR,
            items INTEGER NOT NULL,
            added_at TIMESTAMP NOT NULL,
            added_by VARCHAR NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS eval_set_items (
            eval_set VARCHAR NOT NULL,
            item INTEGER NOT NULL,
            prompt VARCHAR NOT NULL,
            answer VARCHAR NOT NULL,
            PRIMARY KEY (eval_set, item)
        )""",
    ],
]
