#!/usr/bin/env bash
# devlab setup for a fresh Debian machine, run as root from the checkout.
# Installs only what is missing, runs `npm ci` when the lock changed, and starts Redis (loopback, AOF)
# and the Docker engine (no bridge, no iptables) when they are not running. Safe to run again.
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
DEVLAB_HOME=${DEVLAB_HOME:-$ROOT/.devlab}
REDIS_PORT=${DEVLAB_REDIS_PORT:-6379}
say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] FAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (apt-get and dockerd need it)"
command -v node >/dev/null || die "node is not installed; devlab needs Node.js 20+"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
  die "Node.js $(node --version) is too old; devlab needs 20+"

# 1. Debian packages, only the missing ones.
PKGS=(redis-server docker.io chromium chromium-driver busybox-static)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  apt-get update -q >/dev/null || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/devlab-apt.log 2>&1 ||
    { tail -20 /tmp/devlab-apt.log >&2; die "apt-get install ${missing[*]} failed (log: /tmp/devlab-apt.log)"; }
else
  say "Debian packages present: ${PKGS[*]}"
fi

# 2. npm dependencies; skipped when node_modules already matches the lock.
export APPIUM_SKIP_CHROMEDRIVER_INSTALL=1 APPIUM_HOME="$ROOT"
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f node_modules/.devlab-lock-hash ] && [ "$(cat node_modules/.devlab-lock-hash)" = "$lock_hash" ]; then
  say "npm dependencies up to date"
else
  say "npm ci"
  npm ci --no-audit --no-fund >/tmp/devlab-npm.log 2>&1 || { tail -30 /tmp/devlab-npm.log >&2; die "npm ci failed (log: /tmp/devlab-npm.log)"; }
  echo "$lock_hash" >node_modules/.devlab-lock-hash
fi

mkdir -p "$DEVLAB_HOME/redis" "$DEVLAB_HOME/logs"

# 3. Redis on loopback with the append-only file on, so a restart loses no queued job.
if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
  say "Redis already running on 127.0.0.1:$REDIS_PORT"
else
  say "starting Redis on 127.0.0.1:$REDIS_PORT (AOF on, data in $DEVLAB_HOME/redis)"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --appendonly yes --dir "$DEVLAB_HOME/redis" \
    --daemonize yes --logfile "$DEVLAB_HOME/logs/redis.log" || die "redis-server did not start"
  # A large append-only file takes a while to load ("LOADING"): wait up to 3 minutes for it, saying so.
  for i in $(seq 1800); do
    answer=$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null || true)
    case "$answer" in
      PONG) break ;;
      LOADING*) [ $((i % 50)) -eq 0 ] && say "Redis is loading its append-only file ..." ;;
    esac
    sleep 0.1
  done
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping | grep -q PONG || die "Redis is not answering (log: $DEVLAB_HOME/logs/redis.log)"
fi

# 4. Docker engine without a bridge network: containers run with network none (or host).
if docker info >/dev/null 2>&1; then
  say "Docker engine already running ($(docker version --format '{{.Server.Version}}'))"
else
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then rm -f /var/run/docker.pid; fi
  say "starting the Docker engine (dockerd --bridge=none --iptables=false)"
  nohup dockerd --bridge=none --iptables=false >"$DEVLAB_HOME/logs/dockerd.log" 2>&1 &
  for _ in $(seq 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
  docker info >/dev/null 2>&1 || { tail -20 "$DEVLAB_HOME/logs/dockerd.log" >&2; die "dockerd did not come up (log: $DEVLAB_HOME/logs/dockerd.log)"; }
  say "Docker engine up ($(docker version --format '{{.Server.Version}}'))"
fi

# 5. Chromium and chromedriver must share a major version, or Appium sessions fail to start.
cv=$(/usr/bin/chromium --version 2>/dev/null | grep -oE '[0-9]+' | head -1)
dv=$(/usr/bin/chromedriver --version 2>/dev/null | grep -oE '[0-9]+' | head -1)
[ -n "$cv" ] && [ "$cv" = "$dv" ] || die "chromium ($cv) and chromedriver ($dv) major versions differ"
say "chromium and chromedriver $cv"
say "done"
