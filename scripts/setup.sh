#!/usr/bin/env bash
# Installs (apt-get) and starts PostgreSQL and Redis when they are absent,
# installs the prompt tools (espeak-ng, sox), promtool (Debian's
# prometheus) and chromium (the pages' browser tests), then creates the
# development role and databases. Idempotent: on a machine that already
# runs both it only checks and creates what is missing.
#
# Environment (all optional):
#   CENTRALINO_DB_ROLE      role to create            (default centralino)
#   CENTRALINO_DB_PASSWORD  its password, dev only    (default centralino)
set -euo pipefail

role=${CENTRALINO_DB_ROLE:-centralino}
password=${CENTRALINO_DB_PASSWORD:-centralino}
databases=(centralino centralino_test)

log() { printf 'setup: %s\n' "$*"; }
need_root() { [ "$(id -u)" = 0 ] || { echo "setup: must run as root to install/start $1" >&2; exit 1; }; }

apt_updated=
apt_install() {
  need_root "$*"
  if [ -z "$apt_updated" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }

# --- PostgreSQL ---------------------------------------------------------
if ! pg_up; then
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    log "installing PostgreSQL"
    apt_install postgresql postgresql-contrib
  fi
  command -v pg_isready >/dev/null || apt_install postgresql-client
  version=$(ls /usr/lib/postgresql | sort -V | tail -1)
  if ! ls /etc/postgresql/"$version"/main >/dev/null 2>&1; then
    log "creating cluster $version/main"
    pg_createcluster "$version" main >/dev/null
  fi
  log "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null ||
    pg_ctlcluster "$version" main start
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  pg_up || { echo "setup: PostgreSQL did not start" >&2; exit 1; }
fi
command -v pgbench >/dev/null || apt_install postgresql-contrib >/dev/null 2>&1 || true

# Run SQL as the superuser: over the local socket as the postgres OS user
# (peer auth, Debian's default), else over TCP (trust auth).
psql_admin() {
  if id postgres >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qAt "$@"
  else
    psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qAt "$@"
  fi
}

if [ "$(psql_admin -c "select 1 from pg_roles where rolname='$role'")" != 1 ]; then
  log "creating role $role"
  psql_admin -c "create role $role login createdb password '$password'"
fi
for db in "${databases[@]}"; do
  if [ "$(psql_admin -c "select 1 from pg_database where datname='$db'")" != 1 ]; then
    log "creating database $db"
    psql_admin -c "create database $db owner $role"
  fi
done

# --- Redis ----------------------------------------------------------------
if ! redis_up; then
  if ! command -v redis-server >/dev/null; then
    log "installing Redis"
    apt_install redis-server
  fi
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 \
    --dir /var/lib/redis --logfile /var/log/redis/centralino.log
  for _ in $(seq 1 30); do redis_up && break; sleep 0.5; done
  redis_up || { echo "setup: Redis did not start" >&2; exit 1; }
fi

# --- Prompt tools -------------------------------------------------------------
# espeak-ng and sox render the Italian prompt catalogue (prompts/it.yaml).
missing=()
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
command -v sox >/dev/null || missing+=(sox)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt_install "${missing[@]}" libsox-fmt-base
fi

# --- promtool -----------------------------------------------------------------
# The tests lint the daemon's /metrics and check deploy/prometheus and the
# Grafana dashboard with promtool, which Debian ships in its prometheus
# package. Only promtool is wanted: the Prometheus server the package
# starts under systemd is stopped and disabled again.
if ! command -v promtool >/dev/null; then
  log "installing prometheus (for promtool)"
  apt_install prometheus
  if [ -d /run/systemd/system ]; then
    systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi

# --- chromium -------------------------------------------------------------------
# The pages' tests (app/pages_test.go) drive Debian's chromium headless
# through chromedp; nothing downloads a browser of its own.
if ! command -v chromium >/dev/null; then
  log "installing chromium (for the pages' browser tests)"
  apt_install chromium
fi

# --- SIP user agents ----------------------------------------------------------
# The SIP tests (app/sip_test.go) call through the sandbox's trunk and
# desks with real user agents: SIPp (sip-tester, with its RTP captures)
# and baresip (baresip-core: the phone without its desktop front ends).
missing=()
command -v sipp >/dev/null || missing+=(sip-tester)
command -v baresip >/dev/null || missing+=(baresip-core)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt_install "${missing[@]}"
fi

log "PostgreSQL and Redis ready (role $role, databases ${databases[*]})"
