-- Documents a request carries (A6-A7, A13, D5): asked for by the policy (standing: death
-- certificate, heir status, mandate) or by the DPO after a recorded reasonable doubt (identity).
-- The content is removed as soon as the DPO has checked it; only who checked it, when, how and
-- with what outcome stay.
CREATE TABLE request_documents (
    request_id VARCHAR(36) NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    kind VARCHAR(32) NOT NULL,
    requested_at TIMESTAMP NOT NULL,
    requested_by VARCHAR(200) NOT NULL,
    received_at TIMESTAMP,
    content_type VARCHAR(100),
    content BLOB,
    checked_at TIMESTAMP,
    checked_by VARCHAR(200),
    outcome VARCHAR(16),
    method VARCHAR(500),
    PRIMARY KEY (request_id, kind)
);

-- Deadline reminders already sent, so that each is sent once per request and threshold (days
-- before the due date; 0 on the day, -1 once overdue).
CREATE TABLE reminders (
    request_id VARCHAR(36) NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    threshold INTEGER NOT NULL,
    sent_at TIMESTAMP NOT NULL,
    PRIMARY KEY (request_id, threshold)
);

-- Specific post-mortem directives (LIL art. 85, checklist D2): versioned and time-stamped, never
-- updated in place; the highest version in force is the one that applies, a revocation is a
-- version too. No foreign key: the directives outlive the request that recorded them.
CREATE TABLE post_mortem_directives (
    subject_email VARCHAR(254) NOT NULL,
    version INTEGER NOT NULL,
    request_id VARCHAR(36) NOT NULL,
    action VARCHAR(16) NOT NULL,
    directives TEXT NOT NULL,
    executor TEXT,
    recorded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (subject_email, version)
);
