DROP TRIGGER audit_entries_no_truncate ON audit_entries;
DROP TRIGGER audit_entries_no_change ON audit_entries;
DROP FUNCTION audit_entries_append_only();
DROP TABLE audit_head;
DROP TABLE audit_entries;
DROP TABLE request_events;
DROP TABLE requests;
