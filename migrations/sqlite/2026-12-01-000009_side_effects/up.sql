-- Issue 14: side effects at most once.
--
-- mail_outbox: the completion notice is a row written in the same transaction that completes the
-- request, keyed by (request_id, template), and sent after commit by a sender that claims it
-- (claimed_until), sends it with a deterministic Message-ID and marks it sent. Once sent (or given
-- up on) the address, subject and body are emptied: only the key, the Message-ID and the times
-- stay, so that a finalize run again cannot send it a second time.
CREATE TABLE mail_outbox (
    id VARCHAR(36) PRIMARY KEY NOT NULL,
    request_id VARCHAR(36) NOT NULL,
    template VARCHAR(64) NOT NULL,
    message_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    language VARCHAR(8) NOT NULL,
    status VARCHAR(16) NOT NULL,
    attempts INTEGER NOT NULL,
    next_at TIMESTAMP NOT NULL,
    claimed_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    UNIQUE (request_id, template)
);
CREATE INDEX mail_outbox_status_next_at ON mail_outbox (status, next_at);

-- webhook_deliveries: one Art. 19 webhook delivery per request x recipient x event (x occasion:
-- `execution` for the notify step, `objection_upheld` for the erasure after an upheld objection,
-- `retention` for a sweep), its id
-- (the delivery id sent in the Rightful-Delivery-Id header and the body) recorded before the call,
-- its outcome after. A retry reuses the id; an acknowledged delivery is not posted again.
CREATE TABLE webhook_deliveries (
    id VARCHAR(36) PRIMARY KEY NOT NULL,
    request_id VARCHAR(64) NOT NULL,
    recipient VARCHAR(64) NOT NULL,
    event VARCHAR(16) NOT NULL,
    occasion VARCHAR(32) NOT NULL,
    status VARCHAR(16) NOT NULL,
    attempts INTEGER NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (request_id, recipient, event, occasion)
);
