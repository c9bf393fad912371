PRAGMA journal_mode = WAL;
CREATE TABLE t(x);
INSERT INTO t VALUES (1), (2), (3);
SELECT sum(x) FROM t;
PRAGMA wal_checkpoint;
