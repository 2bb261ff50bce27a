DROP TRIGGER audit_entries_no_delete;
DROP TRIGGER audit_entries_no_update;
DROP TABLE audit_head;
DROP TABLE audit_entries;
DROP TABLE request_events;
DROP TABLE requests;
