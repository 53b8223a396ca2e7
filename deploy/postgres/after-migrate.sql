-- Run after every `flask db upgrade` (as clinic_owner or a superuser), and after a restore:
--   psql -v ON_ERROR_STOP=1 -d clinic -f deploy/postgres/after-migrate.sql
-- The audit trail (its events, and the patients each list view showed) is append-only for
-- the app: it may add rows and read them, nothing else.
-- (Its triggers refuse UPDATE and DELETE too; TRUNCATE skips row triggers, so it is never
-- granted.) Safe to run again.
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_event, audit_event_patient
    FROM clinic_app;
GRANT SELECT, INSERT ON audit_event, audit_event_patient TO clinic_app;
