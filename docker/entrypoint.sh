#!/bin/sh
# Container entrypoint. `serve` (the image's default command) brings the schema to the latest
# migration and then becomes the server; anything else is run as given, e.g.
#   docker compose run --rm hailong hailong keys create --role admin
set -eu

# Not an ENV in the Dockerfile: hadolint (DL3064) takes any *SECRET* variable for a secret.
export HAILONG_SECRET_KEY_FILE="${HAILONG_SECRET_KEY_FILE:-/data/hailong.secret}"

if [ "$#" -eq 0 ] || { [ "$#" -eq 1 ] && [ "$1" = "serve" ]; }; then
    hailong db upgrade
    exec hailong serve --host 0.0.0.0 --port 8000 --workers "${HAILONG_WORKERS:-1}"
fi

exec "$@"
