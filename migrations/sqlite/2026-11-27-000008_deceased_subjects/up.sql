-- Data subjects whose death was notified and verified (LIL art. 84, checklist D1): their rights
-- end; only post-mortem requests (directives, heirs' limited rights) remain.
CREATE TABLE deceased_subjects (
    email VARCHAR(254) PRIMARY KEY NOT NULL,
    request_id VARCHAR(36) NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
