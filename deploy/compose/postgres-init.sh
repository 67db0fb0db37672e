#!/bin/sh
# Run once by the postgres image, when its data volume is first initialised
# (/docker-entrypoint-initdb.d): for each name in PEERLINK_DATABASES, a login role and a database
# it owns, with the password from POSTGRES_<NAME>_PASSWORD. Each service connects as its own role
# and can reach no other service's database.
set -eu

for name in $PEERLINK_DATABASES; do
  variable="POSTGRES_$(echo "$name" | tr 'a-z-' 'A-Z_')_PASSWORD"
  password=$(printenv "$variable" || true)
  if [ -z "$password" ]; then
    echo "postgres-init: $variable is not set" >&2
    exit 1
  fi
  # psql variables (:"name" quoted as an identifier, :'password' as a literal): no SQL injection.
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    -v name="$name" -v password="$password" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name";
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
SQL
  echo "postgres-init: database $name owned by role $name"
done
