-- Requests, their lifecycle events, and the append-only audit trail (SQLite).
CREATE TABLE requests (
    id VARCHAR(36) PRIMARY KEY NOT NULL,
    kind VARCHAR(32) NOT NULL,
    status VARCHAR(32) NOT NULL,
    channel VARCHAR(32) NOT NULL,
    received_at TIMESTAMP NOT NULL,
    due_on DATE NOT NULL,
    extended BOOLEAN NOT NULL DEFAULT 0,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX requests_status_due_on ON requests (status, due_on);

CREATE TABLE request_events (
    id VARCHAR(36) PRIMARY KEY NOT NULL,
    request_id VARCHAR(36) NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    at TIMESTAMP NOT NULL,
    actor VARCHAR(128) NOT NULL,
    from_status VARCHAR(32),
    to_status VARCHAR(32) NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX request_events_request_id ON request_events (request_id, at);

-- No foreign key: the trail outlives what it describes.
CREATE TABLE audit_entries (
    seq BIGINT PRIMARY KEY NOT NULL,
    at TIMESTAMP NOT NULL,
    actor VARCHAR(128) NOT NULL,
    action VARCHAR(64) NOT NULL,
    target VARCHAR(128) NOT NULL,
    reason TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash VARCHAR(64) NOT NULL,
    hash VARCHAR(64) NOT NULL
);
CREATE INDEX audit_entries_at ON audit_entries (at);

-- The last entry written, updated in the same transaction: it detects a truncated tail and
-- serialises writers (a no-op UPDATE on it takes the write lock first).
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY NOT NULL,
    seq BIGINT NOT NULL,
    hash VARCHAR(64) NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
