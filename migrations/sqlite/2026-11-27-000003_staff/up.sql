-- Staff accounts: the DPO and auditors; passwords are argon2 hashes.
CREATE TABLE staff (
    id VARCHAR(36) PRIMARY KEY NOT NULL,
    username VARCHAR(64) NOT NULL UNIQUE,
    role VARCHAR(16) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT 0
);
