-- subjects: 110%
-- Visitors known only by their IP address: the logs reach 10% past the other stores' subjects.
WITH RECURSIVE g(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM g WHERE n < {to}),
     r(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM r WHERE k < {logs})
INSERT INTO access_log (id, ip_address, ts, method, path, user_agent, status)
SELECT (n - 1) * {logs} + k, '100.' || (n / 65536 % 256) || '.' || (n / 256 % 256) || '.' || (n % 256),
       datetime('2025-10-01 00:00:00', '+' || ((n * 7 + k * 13) % 420) || ' days', '+' || ((n + k * 7919) % 86400) || ' seconds'),
       CASE WHEN k % 10 = 0 THEN 'POST' ELSE 'GET' END, '/page/' || (k % 37), CASE WHEN n % 2 = 0 THEN 'Firefox' ELSE 'Chrome' END,
       CASE WHEN k % 50 = 0 THEN 404 ELSE 200 END
FROM g, r
