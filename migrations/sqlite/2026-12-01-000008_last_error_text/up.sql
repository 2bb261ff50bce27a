-- Issue 14: on PostgreSQL execution_jobs.last_error becomes TEXT. SQLite does not enforce the
-- length of a VARCHAR, so nothing changes here; the folder keeps both histories alike.
SELECT 1;
