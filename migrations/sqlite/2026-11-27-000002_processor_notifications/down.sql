DROP TABLE processor_notifications;
