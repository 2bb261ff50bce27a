-- Demo site: access and connection logs with IP addresses (SQLite).
CREATE TABLE access_log (
    id INTEGER PRIMARY KEY,
    ip_address TEXT NOT NULL,
    ts TIMESTAMP NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    status INTEGER NOT NULL
);
CREATE INDEX access_log_ip_address ON access_log (ip_address);
CREATE INDEX access_log_ts ON access_log (ts);
