# wahaweb: the production image. One container runs N backend workers on one port (Reflex
# serves the built frontend from the same port); Redis and PostgreSQL are other containers.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    REFLEX_TELEMETRY_ENABLED=false REFLEX_USE_SYSTEM_BUN=1 \
    PATH=/app/.tools/node_modules/.bin:$PATH

# Reflex builds its frontend with bun (installed from npm, as `make` does) and needs node.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm curl git \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt \
    && mkdir -p .tools && cd .tools && npm install --no-audit --no-fund --silent bun@1.4.5

COPY rxconfig.py ./
COPY wahaweb ./wahaweb
COPY assets ./assets

EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --retries=5 CMD curl -fsS http://127.0.0.1:3000/api/health || exit 1
# Migrations, then the app. WAHAWEB_WORKERS sets the number of backend workers (needs Redis).
CMD ["sh", "-c", "python -m wahaweb.core.migrate && GRANIAN_WORKERS=${WAHAWEB_WORKERS:-1} reflex run --env prod --single-port --frontend-port 3000 --backend-port 3000"]
