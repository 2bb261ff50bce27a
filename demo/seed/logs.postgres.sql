-- subjects: 110%
-- Visitors known only by their IP address: the logs reach 10% past the other stores' subjects.
INSERT INTO access_log (id, ip_address, ts, method, path, user_agent, status)
SELECT (n - 1) * {logs} + k, '100.' || (n / 65536 % 256) || '.' || (n / 256 % 256) || '.' || (n % 256),
       TIMESTAMP '2025-10-01 00:00:00' + ((n * 7 + k * 13) % 420) * INTERVAL '1 day' + ((n + k * 7919) % 86400) * INTERVAL '1 second',
       CASE WHEN k % 10 = 0 THEN 'POST' ELSE 'GET' END, '/page/' || (k % 37), CASE WHEN n % 2 = 0 THEN 'Firefox' ELSE 'Chrome' END,
       CASE WHEN k % 50 = 0 THEN 404 ELSE 200 END
FROM generate_series({from}, {to}) AS g(n), generate_series(1, {logs}) AS r(k)
