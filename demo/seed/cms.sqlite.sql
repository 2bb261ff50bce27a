WITH RECURSIVE g(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM g WHERE n < {to}) INSERT INTO technical_newsletter (id, email, subscribed_at, unsubscribed_at, restricted)
SELECT n, 'user' || n || '@example.test', datetime('2016-01-01 08:00:00', '+' || (n % 3000) || ' days'), NULL, 0
FROM g WHERE n % 4 = 0;
WITH RECURSIVE g(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM g WHERE n < {to}) INSERT INTO commercial_newsletter (id, email, subscribed_at, unsubscribed_at, restricted)
SELECT n, 'user' || n || '@example.test', datetime('2016-01-01 08:00:00', '+' || (n % 3000) || ' days'),
       CASE WHEN n % 25 = 0 THEN datetime('2016-06-01 08:00:00', '+' || (n % 3000) || ' days') END, 0
FROM g WHERE n % 5 = 0;
INSERT INTO consent_records (id, subscription_id, consented_at, consent_text_version)
SELECT id, id, subscribed_at, 'v3' FROM commercial_newsletter WHERE id BETWEEN {from} AND {to};
WITH RECURSIVE g(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM g WHERE n < {to}) INSERT INTO blog_comments (id, post_slug, author_name, author_email, website, body, published_at, published)
SELECT n, 'post-' || n % 200, 'First' || n, 'user' || n || '@example.test', 'https://site' || n || '.example',
       'Comment number ' || n, datetime('2018-01-01 12:00:00', '+' || (n % 2900) || ' days'), 1
FROM g WHERE n % 10 = 0;
WITH RECURSIVE g(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM g WHERE n < {to}) INSERT INTO inquiries (id, nature, last_name, first_name, email, company_name, phone, country, message, created_at)
SELECT n, CASE WHEN n % 2 = 0 THEN 'quote' ELSE 'partner' END, 'Last' || n, 'First' || n, 'user' || n || '@example.test',
       CASE WHEN n % 3 = 0 THEN 'Company ' || n END, CASE WHEN n % 2 = 0 THEN '+33 4 ' || 10000000 + n % 89999999 END,
       CASE WHEN n % 5 = 0 THEN 'FR' END, 'Inquiry ' || n, datetime('2021-01-01 10:00:00', '+' || (n % 2100) || ' days')
FROM g WHERE n % 7 = 1;
WITH RECURSIVE g(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM g WHERE n < {to}) INSERT INTO support_tickets (id, request_type, last_name, first_name, email, company_name, phone, country, message, camera_serial_number, created_at)
SELECT n, CASE WHEN n % 2 = 0 THEN 'repair' ELSE 'question' END, 'Last' || n, 'First' || n, 'user' || n || '@example.test',
       NULL, NULL, 'FR', 'Ticket ' || n, 'TK3-' || n, datetime('2019-01-01 10:00:00', '+' || (n % 2800) || ' days')
FROM g WHERE n % 11 = 0;
WITH RECURSIVE g(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM g WHERE n < {to}) INSERT INTO site_admins (id, last_name, first_name, email, role_ended_at)
SELECT n, 'Last' || n, 'First' || n, 'user' || n || '@example.test', CASE WHEN n = 5 THEN '2024-01-31 18:00:00' END
FROM g WHERE n <= 5
