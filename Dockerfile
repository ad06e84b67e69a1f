# hailong in one image: the API, the pages and the embedded webhook delivery worker.
#
#   docker build -t hailong .
#   docker run -p 8000:8000 -v hailong-data:/data hailong      # SQLite + secret in /data
#   docker compose up                                           # PostgreSQL: see compose.yaml
#
# Any other command runs in place of the server, e.g.
#   docker run --rm -v hailong-data:/data hailong hailong keys create --role admin

# --- builder: the pinned dependencies in a venv, then the project (editable, see below) ---
FROM python:3.11-slim-bookworm AS builder

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

# Runtime dependencies only, every one pinned with its hashes.
COPY requirements.lock /tmp/requirements.lock
RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements.lock

# The app finds templates/, static/, locale/, profiles/, migrations/ and alembic.ini next to
# the `service` package (service/settings.py: ROOT), so the source tree lives in /app and is
# installed in editable mode: `service` is imported from /app/service and the `hailong`
# script exists. A new `ROOT / "..."` in service/ needs its COPY here (tests/test_dockerfile.py).
WORKDIR /app
COPY pyproject.toml alembic.ini ./
COPY service/ service/
COPY migrations/ migrations/
COPY templates/ templates/
COPY static/ static/
COPY locale/ locale/
COPY profiles/ profiles/
COPY docker/entrypoint.sh docker/entrypoint.sh
RUN pip install --no-cache-dir --no-deps -e /app \
    && rm -rf /app/*.egg-info /app/build \
    && python -m compileall -q /app/service /app/migrations

# --- runtime ---
FROM python:3.11-slim-bookworm AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HAILONG_DATABASE_URL=sqlite:////data/hailong.db \
    HAILONG_WORKERS=1

RUN groupadd --system --gid 10001 hailong \
    && useradd --system --no-log-init --uid 10001 --gid hailong --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin hailong \
    && install -d -o hailong -g hailong -m 0700 /data

COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app

# The default SQLite file and the signing key generated on first start (unless
# HAILONG_SECRET_KEY is set) live here: entrypoint.sh defaults HAILONG_SECRET_KEY_FILE to
# /data/hailong.secret, and the app's relative default resolves here too (WORKDIR).
WORKDIR /data
VOLUME ["/data"]
USER 10001:10001

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]

# `serve` (the default): `hailong db upgrade`, then `exec hailong serve` on 0.0.0.0:8000.
ENTRYPOINT ["/bin/sh", "/app/docker/entrypoint.sh"]
CMD ["serve"]
