WITH RECURSIVE g(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM g WHERE n < {to}) INSERT INTO customers (id, email, first_name, last_name, company_name, phone, address, delivery_address, created_at, restricted)
SELECT n, 'user' || n || '@example.test', 'First' || n, 'Last' || n,
       CASE WHEN n % 9 = 0 THEN 'Company ' || n END, '+33 6 ' || (10000000 + n % 89999999),
       n || ' rue de la Paix, Grenoble', CASE WHEN n % 6 = 0 THEN n || ' avenue Alsace-Lorraine, Grenoble' END,
       datetime('2015-01-01 09:00:00', '+' || (n % 3650) || ' days'), 0
FROM g WHERE n % 3 = 0;
WITH RECURSIVE g(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM g WHERE n < {to}) INSERT INTO orders (id, customer_id, ordered_at, delivered_at, status, total_cents)
SELECT n * 4 + k, n, datetime('2015-01-01 09:00:00', '+' || (n % 3650 + k * 30) || ' days'),
       CASE WHEN n % 50 = 0 AND k = 1 THEN NULL ELSE datetime('2015-01-06 09:00:00', '+' || (n % 3650 + k * 30) || ' days') END,
       CASE WHEN n % 50 = 0 AND k = 1 THEN 'paid' ELSE 'delivered' END, 10000 + (n * k) % 90000
FROM g, (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3) AS s WHERE n % 3 = 0 AND k <= 1 + (n / 3) % 3;
INSERT INTO order_lines (id, order_id, product, quantity, unit_price_cents)
SELECT id, id, CASE WHEN id % 2 = 0 THEN 'Tikee 3 Pro' ELSE 'Tikee 3' END, 1, total_cents
FROM orders WHERE customer_id BETWEEN {from} AND {to};
INSERT INTO invoices (id, order_id, number, issued_at, amount_cents, billing_name, billing_address)
SELECT o.id, o.id, 'F-' || o.id, o.ordered_at, o.total_cents, c.first_name || ' ' || c.last_name, c.address
FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.customer_id BETWEEN {from} AND {to};
INSERT INTO deliveries (id, order_id, carrier, tracking_number, address, shipped_at)
SELECT o.id, o.id, CASE WHEN o.id % 3 = 0 THEN 'DHL' ELSE 'La Poste' END, 'TRK' || o.id, COALESCE(c.delivery_address, c.address), datetime(o.ordered_at, '+2 days')
FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.customer_id BETWEEN {from} AND {to} AND o.delivered_at IS NOT NULL;
