PRAGMA journal_mode;
CREATE TABLE kv(k TEXT PRIMARY KEY, v BLOB);
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
INSERT INTO kv SELECT 'key' || i, zeroblob(i % 50) FROM n;
COMMIT;
SELECT count(*), sum(length(v)) FROM kv;
DELETE FROM kv WHERE rowid % 3 = 0;
VACUUM;
SELECT count(*) FROM kv;
PRAGMA integrity_check;
PRAGMA page_count;
