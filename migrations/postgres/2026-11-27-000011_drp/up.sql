-- The Data Rights Protocol (DRP 1.0): pair-wise tokens of registered agents, the signed messages
-- already accepted (replays are refused until they expire), and the requests agents sent.
CREATE TABLE drp_agents (
    agent_id VARCHAR(64) PRIMARY KEY NOT NULL,
    token_hash VARCHAR(64) NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX drp_agents_token_hash ON drp_agents (token_hash);

CREATE TABLE drp_messages (
    hash VARCHAR(64) PRIMARY KEY NOT NULL,
    agent_id VARCHAR(64) NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX drp_messages_expires_at ON drp_messages (expires_at);

CREATE TABLE drp_requests (
    id VARCHAR(36) PRIMARY KEY NOT NULL,
    agent_id VARCHAR(64) NOT NULL,
    request_id VARCHAR(36),
    agent_request_id VARCHAR(200),
    exercise VARCHAR(40) NOT NULL,
    regime VARCHAR(40),
    status_callback VARCHAR(2000),
    signed TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    denied_reason VARCHAR(40),
    processing_details VARCHAR(2000),
    pushed TEXT,
    push_attempts INTEGER NOT NULL DEFAULT 0,
    next_push_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX drp_requests_agent_id ON drp_requests (agent_id);
CREATE INDEX drp_requests_request_id ON drp_requests (request_id);
