DROP TABLE audit_anchors;
DROP FUNCTION audit_anchors_append_only();
