# dossiermail's one application image: every app service of docker-compose.yml runs it with another
# `dossiermail <command>`. The rules (rules/) and the IMAP config are mounted at run time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies and package first (only pyproject.toml, README.md and the package are copied).
COPY pyproject.toml README.md ./
COPY dossiermail ./dossiermail
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin dossiermail \
    && mkdir -p /app/var /app/site /app/rules /app/config \
    && chown -R dossiermail:dossiermail /app/var /app/site

# Default rules baked in; production mounts its own over /app/rules.
COPY rules ./rules

USER dossiermail

# Each service sets its own command (serve-smtp, poll-imap, worker, serve); this one just helps.
CMD ["dossiermail", "--help"]
