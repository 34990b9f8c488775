-- A counter that changes with every registry write, so that a process can keep the
-- registry in memory and know when to read it again.
CREATE TABLE registry_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
) STRICT;
INSERT INTO registry_version (id, version) VALUES (1, 0);
