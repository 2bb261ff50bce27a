-- Demo site: the website CMS (MariaDB). Newsletters with consent records, blog comments,
-- inquiries, after-sales tickets, site administrators.
CREATE TABLE technical_newsletter (
    id BIGINT PRIMARY KEY,
    email VARCHAR(255) NOT NULL UNIQUE,
    subscribed_at DATETIME NOT NULL,
    unsubscribed_at DATETIME NULL,
    restricted TINYINT(1) NOT NULL DEFAULT 0
);

CREATE TABLE commercial_newsletter (
    id BIGINT PRIMARY KEY,
    email VARCHAR(255) NOT NULL UNIQUE,
    subscribed_at DATETIME NOT NULL,
    unsubscribed_at DATETIME NULL,
    restricted TINYINT(1) NOT NULL DEFAULT 0
);

CREATE TABLE consent_records (
    id BIGINT PRIMARY KEY,
    subscription_id BIGINT NOT NULL,
    consented_at DATETIME NOT NULL,
    consent_text_version VARCHAR(20) NOT NULL,
    CONSTRAINT consent_records_subscription FOREIGN KEY (subscription_id) REFERENCES commercial_newsletter (id)
);
CREATE INDEX consent_records_subscription_id ON consent_records (subscription_id);

CREATE TABLE blog_comments (
    id BIGINT PRIMARY KEY,
    post_slug VARCHAR(120) NOT NULL,
    author_name VARCHAR(100) NOT NULL,
    author_email VARCHAR(255) NOT NULL,
    website VARCHAR(255) NOT NULL,
    body TEXT NOT NULL,
    published_at DATETIME NOT NULL,
    published TINYINT(1) NOT NULL DEFAULT 1
);
CREATE INDEX blog_comments_author_email ON blog_comments (author_email);

CREATE TABLE inquiries (
    id BIGINT PRIMARY KEY,
    nature VARCHAR(20) NOT NULL,
    last_name VARCHAR(100) NOT NULL,
    first_name VARCHAR(100) NOT NULL,
    email VARCHAR(255) NOT NULL,
    company_name VARCHAR(200) NULL,
    phone VARCHAR(40) NULL,
    country VARCHAR(60) NULL,
    message TEXT NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE INDEX inquiries_email ON inquiries (email);

CREATE TABLE support_tickets (
    id BIGINT PRIMARY KEY,
    request_type VARCHAR(40) NOT NULL,
    last_name VARCHAR(100) NOT NULL,
    first_name VARCHAR(100) NOT NULL,
    email VARCHAR(255) NOT NULL,
    company_name VARCHAR(200) NULL,
    phone VARCHAR(40) NULL,
    country VARCHAR(60) NULL,
    message TEXT NOT NULL,
    camera_serial_number VARCHAR(40) NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE INDEX support_tickets_email ON support_tickets (email);

CREATE TABLE site_admins (
    id BIGINT PRIMARY KEY,
    last_name VARCHAR(100) NOT NULL,
    first_name VARCHAR(100) NOT NULL,
    email VARCHAR(255) NOT NULL UNIQUE,
    role_ended_at DATETIME NULL
);

-- Retention runs from these dates: index them so sweeps do not scan.
CREATE INDEX technical_newsletter_subscribed_at ON technical_newsletter (subscribed_at);
CREATE INDEX technical_newsletter_unsubscribed_at ON technical_newsletter (unsubscribed_at);
CREATE INDEX commercial_newsletter_subscribed_at ON commercial_newsletter (subscribed_at);
CREATE INDEX commercial_newsletter_unsubscribed_at ON commercial_newsletter (unsubscribed_at);
CREATE INDEX consent_records_consented_at ON consent_records (consented_at);
CREATE INDEX blog_comments_published_at ON blog_comments (published_at);
CREATE INDEX inquiries_created_at ON inquiries (created_at);
CREATE INDEX support_tickets_created_at ON support_tickets (created_at);
CREATE INDEX support_tickets_camera_serial_number ON support_tickets (camera_serial_number);
CREATE INDEX site_admins_role_ended_at ON site_admins (role_ended_at);
