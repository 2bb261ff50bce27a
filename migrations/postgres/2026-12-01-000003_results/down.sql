DROP TABLE result_chunks;
DROP TABLE results;
ALTER TABLE mail_quota ALTER COLUMN address_hash TYPE VARCHAR(64);
