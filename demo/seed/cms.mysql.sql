INSERT INTO technical_newsletter (id, email, subscribed_at, unsubscribed_at, restricted)
SELECT seq, CONCAT('user', seq, '@example.test'), DATE_ADD('2016-01-01 08:00:00', INTERVAL (seq % 3000) DAY), NULL, 0
FROM seq_{from}_to_{to} WHERE seq % 4 = 0;
INSERT INTO commercial_newsletter (id, email, subscribed_at, unsubscribed_at, restricted)
SELECT seq, CONCAT('user', seq, '@example.test'), DATE_ADD('2016-01-01 08:00:00', INTERVAL (seq % 3000) DAY),
       CASE WHEN seq % 25 = 0 THEN DATE_ADD('2016-06-01 08:00:00', INTERVAL (seq % 3000) DAY) END, 0
FROM seq_{from}_to_{to} WHERE seq % 5 = 0;
INSERT INTO consent_records (id, subscription_id, consented_at, consent_text_version)
SELECT id, id, subscribed_at, 'v3' FROM commercial_newsletter WHERE id BETWEEN {from} AND {to};
INSERT INTO blog_comments (id, post_slug, author_name, author_email, website, body, published_at, published)
SELECT seq, CONCAT('post-', seq % 200), CONCAT('First', seq), CONCAT('user', seq, '@example.test'), CONCAT('https://site', seq, '.example'),
       CONCAT('Comment number ', seq), DATE_ADD('2018-01-01 12:00:00', INTERVAL (seq % 2900) DAY), 1
FROM seq_{from}_to_{to} WHERE seq % 10 = 0;
INSERT INTO inquiries (id, nature, last_name, first_name, email, company_name, phone, country, message, created_at)
SELECT seq, CASE WHEN seq % 2 = 0 THEN 'quote' ELSE 'partner' END, CONCAT('Last', seq), CONCAT('First', seq), CONCAT('user', seq, '@example.test'),
       CASE WHEN seq % 3 = 0 THEN CONCAT('Company ', seq) END, CASE WHEN seq % 2 = 0 THEN CONCAT('+33 4 ', 10000000 + seq % 89999999) END,
       CASE WHEN seq % 5 = 0 THEN 'FR' END, CONCAT('Inquiry ', seq), DATE_ADD('2021-01-01 10:00:00', INTERVAL (seq % 2100) DAY)
FROM seq_{from}_to_{to} WHERE seq % 7 = 1;
INSERT INTO support_tickets (id, request_type, last_name, first_name, email, company_name, phone, country, message, camera_serial_number, created_at)
SELECT seq, CASE WHEN seq % 2 = 0 THEN 'repair' ELSE 'question' END, CONCAT('Last', seq), CONCAT('First', seq), CONCAT('user', seq, '@example.test'),
       NULL, NULL, 'FR', CONCAT('Ticket ', seq), CONCAT('TK3-', seq), DATE_ADD('2019-01-01 10:00:00', INTERVAL (seq % 2800) DAY)
FROM seq_{from}_to_{to} WHERE seq % 11 = 0;
INSERT INTO site_admins (id, last_name, first_name, email, role_ended_at)
SELECT seq, CONCAT('Last', seq), CONCAT('First', seq), CONCAT('user', seq, '@example.test'), CASE WHEN seq = 5 THEN '2024-01-31 18:00:00' END
FROM seq_{from}_to_{to} WHERE seq <= 5
