# katib-py: one image for every entry point (operator, db-manager, suggestion services, metrics collector).
# Build: docker build -t katib-py:0.1.0 .
# Run:   the Helm chart picks the entry point with `args` (katib-py operator | db-manager | suggestion serve | ...).
# Health is checked by Kubernetes probes (gRPC / HTTP), so there is no HEALTHCHECK here.

# ---- build stage: resolve wheels and install katib-py into a self-contained venv ----
FROM python:3.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/katib-py

WORKDIR /src
# Sources only (see .dockerignore); every dependency ships manylinux wheels, so no compiler is needed.
COPY pyproject.toml README.md ./
COPY katib_py ./katib_py
RUN /opt/katib-py/bin/pip install --no-compile . \
 && /opt/katib-py/bin/python -m compileall -q /opt/katib-py/lib \
 && /opt/katib-py/bin/katib-py --help > /dev/null

# ---- final stage: the venv on a clean slim base, running as an unprivileged user ----
FROM python:3.11-slim-bookworm

LABEL org.opencontainers.image.title="katib-py" \
      org.opencontainers.image.description="Kubeflow Katib (kubeflow.org/v1beta1) rebuilt in Python" \
      org.opencontainers.image.licenses="Apache-2.0"

# A fixed numeric UID/GID so that `runAsNonRoot` can verify it without a passwd lookup.
RUN groupadd --system --gid 65532 katib \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin katib

COPY --from=build /opt/katib-py /opt/katib-py

ENV PATH="/opt/katib-py/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp

# The root filesystem is mounted read-only by the chart; /tmp is an emptyDir there.
WORKDIR /tmp
USER 65532:65532

# gRPC services (db-manager, suggestions) on 6789, webhooks on 8443, Prometheus metrics on 8080.
EXPOSE 6789 8443 8080

ENTRYPOINT ["katib-py"]
CMD ["--help"]
