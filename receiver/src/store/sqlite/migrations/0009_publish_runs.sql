-- Each build hook's and the publish command's last run (issue 13), so the
-- admin page shows them after a restart and the publisher knows which change
-- sequence each strategy last published (`covered_seq`): a change approved
-- just before a restart still publishes. PostgreSQL has the same table
-- (its migration 0004).
CREATE TABLE publish_runs (
    kind        TEXT NOT NULL CHECK (kind IN ('hook', 'command')),
    name        TEXT NOT NULL,
    at          INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    ok          INTEGER NOT NULL,
    attempts    INTEGER NOT NULL,
    covered_seq INTEGER NOT NULL,
    PRIMARY KEY (kind, name)
) STRICT;
