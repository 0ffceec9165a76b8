# otel-ai-detect: small, non-root image.
#   docker build -t otel-ai-detect .
#   docker run --rm -p 4317:4317 -p 4318:4318 -p 8888:8888 \
#     -v "$PWD/my-config.yaml:/etc/otel-ai-detect/config.yaml:ro" \
#     otel-ai-detect serve --config /etc/otel-ai-detect/config.yaml
# Without --config the embedded default listens on 127.0.0.1 only (unreachable from outside
# the container): give a config whose receivers listen on 0.0.0.0.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/otel-ai-detect
WORKDIR /src
COPY pyproject.toml README.md ./
COPY otel_ai_detect ./otel_ai_detect
# The project and its runtime dependencies only: no [test] / [bench] extras.
RUN /opt/otel-ai-detect/bin/pip install --upgrade pip \
 && /opt/otel-ai-detect/bin/pip install .

FROM python:3.11-slim
COPY --from=build /opt/otel-ai-detect /opt/otel-ai-detect
# MALLOC_*: measured (Makefile), glibc returning large buffers to the OS made serializing 4x slower;
# two arenas keep the steady RSS lower and flatter at the same CPU.
ENV PATH=/opt/otel-ai-detect/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MALLOC_MMAP_THRESHOLD_=67108864 \
    MALLOC_TRIM_THRESHOLD_=268435456 \
    MALLOC_TOP_PAD_=67108864 \
    MALLOC_ARENA_MAX=2
# A writable working directory for the default intel.cache_dir (.otel-ai-detect/feeds).
RUN groupadd --system --gid 10001 otel \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/otel-ai-detect --create-home otel
WORKDIR /var/lib/otel-ai-detect
USER 10001
# OTLP gRPC, OTLP HTTP, metrics + /health + /ready (service.telemetry.metrics.endpoint).
EXPOSE 4317 4318 8888
# Probes the processor's own endpoint (default 127.0.0.1:8888; inside the container that is fine).
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8888/health', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["otel-ai-detect"]
CMD ["serve"]
