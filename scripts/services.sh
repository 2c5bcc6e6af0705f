#!/usr/bin/env bash
# Makes sure the services the suite tests against answer on loopback: Redis on
# 127.0.0.1:6379 and PostgreSQL on 127.0.0.1:5432. Starts whichever is down
# and fails, naming it, if it still does not answer. Never restarts or
# flushes a service that is already running: other users share them.
set -euo pipefail

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
postgres_up() { pg_isready -q -h 127.0.0.1 -p 5432; }

if ! redis_up; then
    echo "services: starting Redis on 127.0.0.1:6379"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
        --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
    for _ in $(seq 50); do redis_up && break; sleep 0.1; done
fi
redis_up || { echo "services: Redis does not answer on 127.0.0.1:6379" >&2; exit 1; }

if ! postgres_up; then
    echo "services: starting PostgreSQL on 127.0.0.1:5432"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    for _ in $(seq 100); do postgres_up && break; sleep 0.1; done
fi
postgres_up || {
    echo "services: PostgreSQL does not answer on 127.0.0.1:5432" >&2; exit 1; }
echo "services: Redis and PostgreSQL answer"
