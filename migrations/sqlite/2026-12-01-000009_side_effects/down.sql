DROP TABLE webhook_deliveries;
DROP TABLE mail_outbox;
