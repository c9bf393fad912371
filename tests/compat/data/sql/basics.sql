CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL, tag TEXT);
INSERT INTO t(name, score, tag) VALUES ('ada', 91.5, 'x'), ('bob', 72, 'y'), ('cy', 88.25, 'x'), ('dee', NULL, 'z'), ('eve', 60, 'y');
SELECT id, name, score FROM t ORDER BY score DESC NULLS LAST;
SELECT tag, count(*), round(avg(score), 2), group_concat(name, '+') FROM t GROUP BY tag ORDER BY tag;
UPDATE t SET score = score + 1 WHERE tag = 'y';
DELETE FROM t WHERE score IS NULL;
SELECT total(score), min(name), max(name), typeof(score) FROM t;
SELECT printf('%05.1f|%-5s|%x', 3.14159, 'ab', 255), upper('sqlite'), length('héllo'), hex('AB'), substr('elfin', 2, 3);
