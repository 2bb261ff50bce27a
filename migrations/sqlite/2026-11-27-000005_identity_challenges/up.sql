-- E-mail codes that prove a requester controls the address (A5-A6): only a hash of the code,
-- an expiry and the attempts left are kept; the row goes once the code is used.
CREATE TABLE identity_challenges (
    request_id VARCHAR(36) PRIMARY KEY NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    code_hash VARCHAR(64) NOT NULL,
    sent_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    attempts_left INTEGER NOT NULL
);
