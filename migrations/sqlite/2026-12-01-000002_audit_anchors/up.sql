-- Signed heads of the audit trail (issue 12 item 10): each row is a JWS signed with Rightful's
-- key over {typ, seq, hash, at}; copies go to <data_dir>/audit/anchors.jsonl and, when set, to
-- [audit] anchor_url. sent_at records the delivery to that address (NULL: not sent yet).
CREATE TABLE audit_anchors (
    seq BIGINT PRIMARY KEY NOT NULL,
    hash VARCHAR(64) NOT NULL,
    signed_at TIMESTAMP NOT NULL,
    jws TEXT NOT NULL,
    sent_at TIMESTAMP
);

CREATE TRIGGER audit_anchors_no_update BEFORE UPDATE OF seq, hash, signed_at, jws ON audit_anchors
BEGIN SELECT RAISE(ABORT, 'audit anchors are append-only'); END;
CREATE TRIGGER audit_anchors_no_delete BEFORE DELETE ON audit_anchors
BEGIN SELECT RAISE(ABORT, 'audit anchors are append-only'); END;
