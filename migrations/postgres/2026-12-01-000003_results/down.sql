DROP TABLE result_chunks;
DROP TABLE results;
