-- A feed message carries rows under one TLP: the TLP their source gave them (a STIX
-- marking, a MISP tag, a CSV column), else the report type's default. Rows and messages
-- stored before are '' (one TLP per message then: the message's item says which).
ALTER TABLE feed_rows ADD COLUMN tlp TEXT NOT NULL DEFAULT '';
DROP INDEX feed_rows_by_organisation;
CREATE INDEX feed_rows_by_organisation ON feed_rows(run_id, report, tlp, organisation, event);
ALTER TABLE feed_messages ADD COLUMN tlp TEXT NOT NULL DEFAULT '';
DROP INDEX feed_messages_by_recipient;
CREATE INDEX feed_messages_by_recipient ON feed_messages(recipient, report, tlp);
