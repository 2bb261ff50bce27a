-- Marketing objections honoured later (Art. 21(3), checklist C7): after the subject's data is
-- erased from a marketing purpose, only a keyed hash of the address stays, so that the site's
-- mailing tools can check an address before writing to it without Rightful keeping it.
CREATE TABLE suppressions (
    purpose VARCHAR(64) NOT NULL,
    subject_hash VARCHAR(80) NOT NULL,
    request_id VARCHAR(36) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (purpose, subject_hash)
);
