-- Issue 13 item 6: a request's result (the access report and copy of the data, the portability
-- files, the signed certificate) lives in the engine's database, so that every server sharing it
-- can serve the download. The ZIP is kept in chunks of 256 KiB (result_chunks, in order of seq);
-- results says that it is complete (written in the same transaction as its chunks), its size and
-- SHA-256. Both are deleted when the download window ends or the subject's erasure completes.
CREATE TABLE results (
    request_id VARCHAR(36) PRIMARY KEY NOT NULL,
    size BIGINT NOT NULL,
    sha256 VARCHAR(64) NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE result_chunks (
    request_id VARCHAR(36) NOT NULL,
    seq INTEGER NOT NULL,
    bytes BYTEA NOT NULL,
    PRIMARY KEY (request_id, seq)
);
