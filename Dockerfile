# bundle-renewal-operator image: multi-stage, slim, non-root, runs with a read-only root filesystem.
#   docker build -t bundle-renewal-operator:dev .
# The image holds the operator (`python -m controller`, the default) and the Twilio simulator
# (`python -m twilio_sim`, used by the kind demo); runtime dependencies only, no dev extras.
# Not built in this project's CI (no Docker engine there); see README "Limitations".

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY controller ./controller
COPY twilio_sim ./twilio_sim
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --upgrade pip \
 && /opt/venv/bin/pip install . \
 && /opt/venv/bin/python -m compileall -q /opt/venv

FROM python:3.11-slim-bookworm
# Bytecode was compiled at build time; nothing is written to the root filesystem at run time.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LIVENESS_ENDPOINT=http://0.0.0.0:8080/healthz \
    LOG_FORMAT=json
COPY --from=build /opt/venv /opt/venv
RUN groupadd --system --gid 10001 operator \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin operator
# Numeric so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
WORKDIR /tmp
# 8080: Kopf's liveness endpoint (LIVENESS_ENDPOINT); 8081: the Twilio status-callback receiver
# (WEBHOOK_PORT, served only when WEBHOOK_PUBLIC_URL is set); 8082: Prometheus metrics
# (METRICS_PORT, GET /metrics).
EXPOSE 8080 8081 8082
ENTRYPOINT ["python", "-m", "controller"]
