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

CREATE FUNCTION audit_anchors_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit anchors are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_anchors_no_change BEFORE UPDATE OF seq, hash, signed_at, jws OR DELETE ON audit_anchors
FOR EACH ROW EXECUTE FUNCTION audit_anchors_append_only();
CREATE TRIGGER audit_anchors_no_truncate BEFORE TRUNCATE ON audit_anchors
FOR EACH STATEMENT EXECUTE FUNCTION audit_anchors_append_only();
