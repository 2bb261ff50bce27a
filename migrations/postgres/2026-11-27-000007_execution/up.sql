-- Carrying out an approved request (SPEC §4): one row per request with the identities searched
-- and the plan, and a journal of jobs (discover, apply, notify, finalize), each claimed by one
-- worker under a lease so that a crash or a restart resumes where it stopped and no step runs
-- twice.
CREATE TABLE executions (
    request_id VARCHAR(36) PRIMARY KEY NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    round INTEGER NOT NULL,
    identities TEXT NOT NULL,
    plan TEXT,
    outcome TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE execution_jobs (
    id VARCHAR(36) PRIMARY KEY NOT NULL,
    request_id VARCHAR(36) NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    step VARCHAR(16) NOT NULL,
    store VARCHAR(100) NOT NULL,
    round INTEGER NOT NULL,
    status VARCHAR(16) NOT NULL,
    attempts INTEGER NOT NULL,
    run_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    worker VARCHAR(100),
    result TEXT,
    last_error VARCHAR(500),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (request_id, step, store, round)
);
CREATE INDEX execution_jobs_due ON execution_jobs (status, run_at);
