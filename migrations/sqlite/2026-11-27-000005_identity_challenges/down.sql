DROP TABLE identity_challenges;
