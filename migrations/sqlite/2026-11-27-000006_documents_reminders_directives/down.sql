DROP TABLE post_mortem_directives;
DROP TABLE reminders;
DROP TABLE request_documents;
