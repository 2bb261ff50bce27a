-- Legal holds (checklist F1): a subject's records are kept whatever their age while a claim or an
-- investigation needs them; retention sweeps skip them and count them.
CREATE TABLE legal_holds (
    id VARCHAR(36) PRIMARY KEY NOT NULL,
    kind VARCHAR(32) NOT NULL,
    value VARCHAR(254) NOT NULL,
    reason VARCHAR(500) NOT NULL,
    created_by VARCHAR(200) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    released_at TIMESTAMP,
    released_by VARCHAR(200)
);
