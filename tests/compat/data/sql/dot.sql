.headers on
.mode csv
.import table.csv langs
SELECT lang, count(*) AS n, min(year) FROM langs GROUP BY lang ORDER BY n DESC, lang;
.mode box
SELECT name, year FROM langs WHERE year > 2000 ORDER BY year;
.mode json
SELECT * FROM langs ORDER BY name LIMIT 2;
.schema
.dump langs
