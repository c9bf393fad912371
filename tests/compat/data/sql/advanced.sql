WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
SELECT count(*), sum(i), sum(i * i) % 1000003 FROM n;
CREATE TABLE sales(region TEXT, month INT, amount INT);
WITH RECURSIVE m(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM m WHERE k < 59)
INSERT INTO sales SELECT CASE k % 3 WHEN 0 THEN 'north' WHEN 1 THEN 'south' ELSE 'east' END, k % 12 + 1, (k * 37) % 101 FROM m;
SELECT region, month, amount, sum(amount) OVER (PARTITION BY region ORDER BY month, amount ROWS UNBOUNDED PRECEDING) AS running,
       rank() OVER (PARTITION BY region ORDER BY amount DESC) AS rk
FROM sales WHERE month <= 2 ORDER BY region, month, amount;
SELECT json_object('a', 1, 'b', json_array(1, 2, 'x')), json_extract('{"k":{"v":[10,20]}}', '$.k.v[1]');
SELECT key, value FROM json_each('{"x":1,"y":[2,3],"z":null}');
CREATE VIEW v AS SELECT region, sum(amount) s FROM sales GROUP BY region;
SELECT * FROM v ORDER BY s DESC;
CREATE INDEX i1 ON sales(region, month);
EXPLAIN QUERY PLAN SELECT * FROM sales WHERE region = 'north' AND month = 3;
SELECT a.region, b.region, a.s - b.s FROM v a JOIN v b ON a.region < b.region ORDER BY 1, 2;
