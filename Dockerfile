# One image for both roles: the web process (daphne) and the Celery worker.
# docker-compose.yml decides which runs and with which privileges.
FROM debian:bookworm-slim

# Python, libcap for python-prctl and libseccomp for the sandbox's filter.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv python3-dev gcc g++ make libc6-dev musl-tools libcap-dev \
        libseccomp2 libseccomp-dev bash coreutils procps nodejs \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Every runtime file's toolchain, by the same script as `make runtimes`, so
# the image offers exactly the languages runtimes/ declares.
COPY runtimes/ runtimes/
COPY scripts/runtimes.sh scripts/
RUN bash scripts/runtimes.sh && rm -rf /var/lib/apt/lists/*

COPY requirements.lock ./
RUN python3 -m venv .venv \
    && .venv/bin/pip install --no-cache-dir --require-hashes -r requirements.lock
COPY . .
RUN bash scripts/launcher.sh
RUN useradd --system --uid 10001 --home-dir /app/var --no-create-home web \
    && mkdir -p var && chown web var

ENV PATH=/app/.venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PLAYGROUND_VAR_DIR=/app/var
EXPOSE 8000
USER web
CMD ["python", "-m", "playground.serve", "-b", "0.0.0.0", "-p", "8000", "playground.asgi:application"]
