#!/usr/bin/env bash
# Installs the Debian packages the integration tests and the demo need, only
# when their binaries are missing: PostgreSQL (server + contrib) and Redis
# (server, sentinel, tools), git, OpenSSH (sshd and ssh-keygen for the module
# fetch over ssh test), Node.js and npm (the editor grammar tests) and
# Chromium (the status page's browser test).
# Idempotent; fast when everything is present.
set -euo pipefail
need=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql postgresql-contrib)
ls /usr/lib/postgresql/*/bin/pg_rewind >/dev/null 2>&1 || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-sentinel >/dev/null 2>&1 || need+=(redis-sentinel)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v git >/dev/null 2>&1 || need+=(git)
# Node.js and npm: the editor grammar tests (internal/editors) tokenise
# with vscode-textmate (scripts/install-npm-tools.sh).
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
echo "installing: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
