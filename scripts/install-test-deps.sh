#!/usr/bin/env bash
# Installs the programs the tests drive, when missing: python3 (imaplib),
# curl, openssl, mbsync (Debian package isync), offlineimap (offlineimap3) and
# the PostgreSQL server binaries (postgresql: initdb, pg_ctl), which the
# PostgreSQL backend tests run privately, and patroni + etcd (etcd-server) for
# the Patroni fail-over test (test/support/patroni.ts). Idempotent and quiet: does nothing
# when all are present. `npm test` runs it first.
# Uses apt-get, so it needs root (CI runs as root) when something is missing.
set -euo pipefail

# command -> Debian package
declare -A PACKAGE_OF=(
  [python3]=python3
  [curl]=curl
  [openssl]=openssl
  [mbsync]=isync
  [offlineimap]=offlineimap3
  [patroni]=patroni
  [etcd]=etcd-server
)

missing=()
for cmd in python3 curl openssl mbsync offlineimap patroni etcd; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${PACKAGE_OF[$cmd]}")
done
# PostgreSQL's server binaries live outside PATH on Debian (test/support/postgres.ts looks there too).
if [ -z "${PETREL_PG_BIN:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-deps: missing test programs; install these Debian packages as root: ${missing[*]}" >&2
  echo "  sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: no apt-get here; install these yourself: ${missing[*]} (python3 curl openssl isync offlineimap3 postgresql patroni etcd-server)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
apt_install() { apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; }
# The package lists may be empty or stale on a fresh machine: update only when the install needs it.
if ! apt_install; then
  apt-get update -qq >"$log" 2>&1 || { cat "$log" >&2; echo "install-test-deps: apt-get update failed" >&2; exit 1; }
  apt_install || { cat "$log" >&2; echo "install-test-deps: apt-get install ${missing[*]} failed" >&2; exit 1; }
fi
echo "install-test-deps: installed ${missing[*]}"
