DROP TABLE request_subjects;
