# The bookshop example as a production image; a microlib service's image looks the same.
#
#   docker build -t bookshop:0.1.0 .
#   docker run --rm -p 8080:8080 -p 50051:50051 --stop-timeout 45 bookshop:0.1.0
#
# Two stages: `build` installs everything into a virtualenv (compilers and caches
# stay there); the final stage copies the virtualenv and the service onto a clean
# slim Python, runs as an unprivileged user, and runs `microlib run` as PID 1:
# microlib handles SIGTERM itself (readiness off, drain delay, drain, stop) and
# starts no child processes, so it needs no init process in front of it.
# docs/deployment.md walks through it; hadolint checks it (`make lint`).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies in their own layer: it is rebuilt only when the dependency list
# or the pins change. pip compiles their bytecode as it installs them.
# EXTRAS: the extras of microlib the service needs, separated by spaces.
ARG EXTRAS="grpc jobs postgres redis"
COPY pyproject.toml requirements/constraints.txt deploy/docker/requirements.py ./
RUN python requirements.py pyproject.toml ${EXTRAS} > requirements.txt \
    && pip install --constraint constraints.txt --requirement requirements.txt

# microlib itself (its dependencies are already there), then the service.
COPY README.md ./
COPY microlib ./microlib
RUN pip install --no-deps . && rm -rf build

WORKDIR /app
COPY examples/__init__.py examples/
COPY examples/bookshop examples/bookshop
RUN rm -rf examples/bookshop/contracts \
    && python -m compileall -q --invalidation-mode unchecked-hash examples


FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MICROLIB__SERVICE__ENVIRONMENT=production \
    MICROLIB__LOGGING__FORMAT=json \
    HEALTHCHECK_URL=http://127.0.0.1:8080/health/ready
RUN useradd --system --no-log-init --uid 10001 --user-group --no-create-home \
    --home-dir /nonexistent --shell /usr/sbin/nologin microlib
# Root owns the code: the service cannot rewrite itself.
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
USER 10001:10001
EXPOSE 8080 50051

# The image has no curl: the probe is one urllib call (any answer but 2xx, or no
# answer within 2 s, is a failure). Kubernetes ignores HEALTHCHECK and uses its
# own probes (deploy/kubernetes/base/deployment.yaml).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['HEALTHCHECK_URL'], timeout=2)"]

ENTRYPOINT ["microlib"]
CMD ["run", "examples.bookshop.main:service"]
