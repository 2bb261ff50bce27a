DROP TABLE mail_quota;
ALTER TABLE staff DROP COLUMN token_version;
ALTER TABLE request_subjects DROP COLUMN verified_at;
