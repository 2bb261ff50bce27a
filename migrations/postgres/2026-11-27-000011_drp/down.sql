DROP TABLE drp_requests;
DROP TABLE drp_messages;
DROP TABLE drp_agents;
