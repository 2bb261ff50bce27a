-- Issue 12: what a request token proves, revocable staff sessions, a cap on mail per address.
-- When the requester's identity was verified (code, OIDC, agent signature); a DPO's doubt clears it.
ALTER TABLE request_subjects ADD COLUMN verified_at TIMESTAMP;
-- Bumped when an account is disabled, removed or its password changed: older tokens stop working.
ALTER TABLE staff ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0;
-- Mail a stranger can cause (codes, acknowledgements) per address and day, by keyed hash.
CREATE TABLE mail_quota (
    address_hash VARCHAR(80) NOT NULL,
    day DATE NOT NULL,
    sent INTEGER NOT NULL,
    PRIMARY KEY (address_hash, day)
);
