-- Runs once, when the db container starts with an empty data directory
-- (/docker-entrypoint-initdb.d), as POSTGRES_USER in POSTGRES_DB.

-- Django sets these on every new connection unless the role already has them.
ALTER ROLE CURRENT_USER SET client_encoding TO 'UTF8';
ALTER ROLE CURRENT_USER SET default_transaction_isolation TO 'read committed';
ALTER ROLE CURRENT_USER SET timezone TO 'UTC';

-- Query statistics for diagnostics (loaded through shared_preload_libraries).
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
