-- Who a request is from and how to reach them, kept apart from the workflow rows so that it can
-- be deleted on its own once the request's records are no longer needed. The per-request token
-- is stored only as its SHA-256.
CREATE TABLE request_subjects (
    request_id VARCHAR(36) PRIMARY KEY NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    email VARCHAR(255) NOT NULL,
    name VARCHAR(200),
    details TEXT NOT NULL,
    token_hash VARCHAR(64) NOT NULL,
    duplicate_of VARCHAR(36)
);
CREATE INDEX request_subjects_email ON request_subjects (email);
