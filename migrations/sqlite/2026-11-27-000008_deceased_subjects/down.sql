DROP TABLE deceased_subjects;
