DROP TABLE execution_jobs;
DROP TABLE executions;
