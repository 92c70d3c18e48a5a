# bundle-renewal-operator image: multi-stage, slim, non-root, runs with a read-only root filesystem.
#   docker build -t bundle-renewal-operator:dev .      (or `make image`, which builds it with podman)
# The image holds the operator (`python -m controller`, the default) and the Twilio simulator
# (`python -m twilio_sim`, used by the kind demo); runtime dependencies only, no dev extras.
# Debian's Python on a Debian base: the project's build machines cannot pull from image
# registries, so `make image` (scripts/image/build.sh) passes BASE_IMAGE, a bookworm base it
# makes from Debian's packages (scripts/image/base-rootfs.sh); every step below is the same there.
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS python
# ca-certificates: the operator calls Twilio over HTTPS with the system's trust store.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*

FROM python AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
# Two layers, so that a code change rebuilds and ships only the small one: the dependencies in
# /opt/venv (only requirements.lock invalidates it; pip and setuptools removed, nothing installs
# at run time), then the project's own packages in /opt/bundle-renewal-operator, which a .pth file
# in the venv puts on sys.path. requirements.lock (`make lock`) pins every runtime dependency,
# transitive ones too, with its sha256 hashes, at the versions the tests run: pip refuses anything
# unpinned, unhashed or altered, and takes wheels only (nothing built with unchecked build
# dependencies). pip (Debian's) trusts /etc/ssl/certs/ca-certificates.crt: a build behind a
# TLS-inspecting proxy passes its own bundle there for the pip steps only (`--secret
# id=ca-certificates.crt,src=...`, as `make image` does); nothing of it stays in the image.
COPY requirements.lock ./
RUN --mount=type=secret,id=ca-certificates.crt,target=/etc/ssl/certs/ca-certificates.crt \
    python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-hashes --only-binary :all: -r requirements.lock \
 && /opt/venv/bin/pip uninstall -y -q pip setuptools \
 && /opt/venv/bin/python -m compileall -q /opt/venv \
 && echo /opt/bundle-renewal-operator \
      >"$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/bundle-renewal-operator.pth"
COPY pyproject.toml README.md ./
COPY controller ./controller
COPY twilio_sim ./twilio_sim
# A throwaway venv's pip installs the project (its console scripts are left out: the image runs
# `python -m controller`, and the kind demo `python -m twilio_sim`).
RUN --mount=type=secret,id=ca-certificates.crt,target=/etc/ssl/certs/ca-certificates.crt \
    python3 -m venv /tmp/pip \
 && /tmp/pip/bin/pip install -q --no-deps --no-compile --target /opt/bundle-renewal-operator . \
 && rm -rf /tmp/pip /opt/bundle-renewal-operator/bin \
 && /opt/venv/bin/python -m compileall -q /opt/bundle-renewal-operator

FROM python
# Bytecode was compiled at build time; nothing is written to the root filesystem at run time.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LIVENESS_ENDPOINT=http://0.0.0.0:8080/healthz \
    LOG_FORMAT=json
# Not named `operator`: Debian's base-passwd already has that group (gid 37).
RUN groupadd --system --gid 10001 renewals \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin renewals
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/bundle-renewal-operator /opt/bundle-renewal-operator
# Numeric so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
WORKDIR /tmp
# 8080: Kopf's liveness endpoint (LIVENESS_ENDPOINT); 8081: the Twilio status-callback receiver
# (WEBHOOK_PORT, served only when WEBHOOK_PUBLIC_URL is set); 8082: Prometheus metrics
# (METRICS_PORT, GET /metrics).
EXPOSE 8080 8081 8082
ENTRYPOINT ["python", "-m", "controller"]
