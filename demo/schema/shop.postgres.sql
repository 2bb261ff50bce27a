-- Demo site: the online shop (PostgreSQL). Customers, orders, order lines, invoices, deliveries.
CREATE TABLE customers (
    id BIGINT PRIMARY KEY,
    email VARCHAR(255) NOT NULL UNIQUE,
    first_name VARCHAR(100) NOT NULL,
    last_name VARCHAR(100) NOT NULL,
    company_name VARCHAR(200),
    phone VARCHAR(40) NOT NULL,
    address VARCHAR(300) NOT NULL,
    delivery_address VARCHAR(300),
    created_at TIMESTAMP NOT NULL,
    restricted BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE orders (
    id BIGINT PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    ordered_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP,
    status VARCHAR(20) NOT NULL,
    total_cents BIGINT NOT NULL,
    archived BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX orders_customer_id ON orders (customer_id);

CREATE TABLE order_lines (
    id BIGINT PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders (id),
    product VARCHAR(200) NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price_cents BIGINT NOT NULL
);
CREATE INDEX order_lines_order_id ON order_lines (order_id);

CREATE TABLE invoices (
    id BIGINT PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders (id),
    number VARCHAR(40) NOT NULL UNIQUE,
    issued_at TIMESTAMP NOT NULL,
    amount_cents BIGINT NOT NULL,
    billing_name VARCHAR(200) NOT NULL,
    billing_address VARCHAR(300) NOT NULL
);
CREATE INDEX invoices_order_id ON invoices (order_id);

CREATE TABLE deliveries (
    id BIGINT PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders (id),
    carrier VARCHAR(60) NOT NULL,
    tracking_number VARCHAR(60) NOT NULL,
    address VARCHAR(300) NOT NULL,
    shipped_at TIMESTAMP NOT NULL
);
CREATE INDEX deliveries_order_id ON deliveries (order_id);

-- Retention runs from these dates: index them so sweeps do not scan.
CREATE INDEX customers_created_at ON customers (created_at);
CREATE INDEX orders_ordered_at ON orders (ordered_at);
CREATE INDEX orders_delivered_at ON orders (delivered_at);
CREATE INDEX invoices_issued_at ON invoices (issued_at);
CREATE INDEX deliveries_shipped_at ON deliveries (shipped_at);
