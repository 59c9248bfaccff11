#!/usr/bin/env bash
# Set up everything bench/run.py needs. Idempotent: re-running only installs what is missing.
#
#   bench/setup.sh            # load generator, nginx, the peers, the plotting/server extras
#
# - wrk and nginx from Debian (apt-get);
# - granian and matplotlib into the project venv (.venv);
# - the peers under bench/peers/ (gitignored):
#     ministack-venv/   MiniStack 1.5.33 (+ boto3 to provision it, + cryptography: its JWT authorizer verifies signatures lazily
#                       through it, without it every JWT request is 401)
#     sls/              serverless 3 + serverless-offline 13 (npm) with the Unicorns HTTP API
#                       (serverless.yml written by bench/peers.py at run time, because the issuer port varies)
#     oauth2-mock/      oauth2-mock-server 8.2.3 (npm; 9.x needs Node 22)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
peers="$here/peers"
mkdir -p "$peers" "$here/results"

log() { printf '[bench/setup] %s\n' "$*"; }

# --- Debian: wrk, nginx --------------------------------------------------------------------------
need_apt=()
command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt+=(nginx-light)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq || true
  # nginx-light is not in every release; fall back to nginx
  if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"; then
    mapfile -t need_apt < <(printf '%s\n' "${need_apt[@]}" | sed 's/^nginx-light$/nginx/')
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
  fi
  # Debian starts nginx on :80 after install; the harness runs its own instance on a free port.
  (command -v systemctl >/dev/null && $SUDO systemctl stop nginx) >/dev/null 2>&1 || true
  if [ -f /run/nginx.pid ]; then $SUDO nginx -s quit >/dev/null 2>&1 || true; fi
fi
log "wrk: $(wrk -v 2>&1 | head -1 || true)"
log "nginx: $( (nginx -v || /usr/sbin/nginx -v) 2>&1 | head -1)"

# --- project venv extras -------------------------------------------------------------------------
py="$root/.venv/bin/python"
if ! "$py" -c 'import granian, matplotlib' >/dev/null 2>&1; then
  log "pip install granian matplotlib into .venv"
  "$root/.venv/bin/pip" install -q 'granian>=2.8' 'matplotlib>=3.9'
fi

# --- MiniStack -----------------------------------------------------------------------------------
if [ ! -x "$peers/ministack-venv/bin/ministack" ] && [ ! -x "$peers/ministack-venv/bin/python" ] \
   || ! "$peers/ministack-venv/bin/python" -c 'import ministack, cryptography, boto3' >/dev/null 2>&1; then
  log "MiniStack into bench/peers/ministack-venv"
  python3 -m venv "$peers/ministack-venv"
  "$peers/ministack-venv/bin/pip" install -q --upgrade pip >/dev/null
  # boto3: bench/ministack_provision.py creates the API, authorizer, route and Lambda through
  # MiniStack's AWS APIs from this venv
  "$peers/ministack-venv/bin/pip" install -q 'ministack==1.5.33' 'cryptography>=43' 'boto3>=1.34' \
    || "$peers/ministack-venv/bin/pip" install -q 'ministack' 'cryptography>=43' 'boto3>=1.34'
fi
log "ministack: $("$peers/ministack-venv/bin/pip" show ministack 2>/dev/null | awk '/^Version/{print $2}')"

# --- serverless 3 + serverless-offline 13 --------------------------------------------------------
sls="$peers/sls"
mkdir -p "$sls"
if [ ! -x "$sls/node_modules/.bin/serverless" ] || [ ! -d "$sls/node_modules/serverless-offline" ]; then
  log "npm: serverless@3 serverless-offline@13 into bench/peers/sls"
  [ -f "$sls/package.json" ] || printf '{\n  "name": "gatehold-bench-sls",\n  "private": true\n}\n' > "$sls/package.json"
  (cd "$sls" && npm install --no-audit --no-fund --loglevel=error 'serverless@3' 'serverless-offline@13')
fi
log "serverless: $(node -p "require('$sls/node_modules/serverless/package.json').version"), serverless-offline: $(node -p "require('$sls/node_modules/serverless-offline/package.json').version")"

# --- oauth2-mock-server 8.2.3 ----------------------------------------------------------------------
om="$peers/oauth2-mock"
mkdir -p "$om"
if [ ! -d "$om/node_modules/oauth2-mock-server" ]; then
  log "npm: oauth2-mock-server@8.2.3 into bench/peers/oauth2-mock"
  [ -f "$om/package.json" ] || printf '{\n  "name": "gatehold-bench-oauth2-mock",\n  "private": true\n}\n' > "$om/package.json"
  (cd "$om" && npm install --no-audit --no-fund --loglevel=error 'oauth2-mock-server@8.2.3')
fi
log "oauth2-mock-server: $(node -p "require('$om/node_modules/oauth2-mock-server/package.json').version")"

log "ready"
