-- Issue 14: a job's last error no longer has a length a message can exceed (a longer one could not
-- be written, so the job stayed `running` and was claimed again every lease period, forever). The
-- engine also cuts it to 500 characters on every backend.
ALTER TABLE execution_jobs ALTER COLUMN last_error TYPE TEXT;
