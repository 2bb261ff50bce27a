-- Art. 19: each notification of a processor or recipient about a rectification, erasure or
-- restriction, with its outcome (acknowledged, failed) or the manual task it became.
CREATE TABLE processor_notifications (
    id VARCHAR(36) PRIMARY KEY NOT NULL,
    request_id VARCHAR(36) NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    recipient VARCHAR(64) NOT NULL,
    event VARCHAR(32) NOT NULL,
    channel VARCHAR(16) NOT NULL,
    status VARCHAR(32) NOT NULL,
    attempts INTEGER NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    due_on DATE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX processor_notifications_request_id ON processor_notifications (request_id);
CREATE INDEX processor_notifications_status_due_on ON processor_notifications (status, due_on);
