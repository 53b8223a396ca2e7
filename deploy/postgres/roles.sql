-- Two database roles for Clinic Journey Tracker on PostgreSQL, run once by a superuser:
--   psql -v ON_ERROR_STOP=1 -d postgres -f deploy/postgres/roles.sql
-- clinic_owner owns the schema and runs the migrations (`make migrate` / `flask db upgrade`);
-- clinic_app is what the web and worker processes connect as: it reads and writes rows but
-- owns nothing, so it cannot ALTER, DROP or TRUNCATE any table, nor disable the audit trail's
-- triggers. Set their passwords afterwards with \password clinic_owner and \password clinic_app.
CREATE ROLE clinic_owner LOGIN;
CREATE ROLE clinic_app LOGIN;
CREATE DATABASE clinic OWNER clinic_owner;

\connect clinic
-- The exclusion constraints against double booking need btree_gist.
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER SCHEMA public OWNER TO clinic_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO clinic_app;
-- Every table and sequence the owner's migrations create is usable by the app, never more:
-- no TRUNCATE, REFERENCES or TRIGGER, and no ownership.
ALTER DEFAULT PRIVILEGES FOR ROLE clinic_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO clinic_app;
ALTER DEFAULT PRIVILEGES FOR ROLE clinic_owner IN SCHEMA public
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO clinic_app;
