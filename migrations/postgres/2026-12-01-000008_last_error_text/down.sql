ALTER TABLE execution_jobs ALTER COLUMN last_error TYPE VARCHAR(500) USING LEFT(last_error, 500);
