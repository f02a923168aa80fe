#!/usr/bin/env bash
# Installs the programs the end-to-end tests drive, when missing: python3
# (imaplib), curl, openssl, mbsync (Debian package isync) and offlineimap
# (offlineimap3). Idempotent and quiet: does nothing when all are present.
# Uses apt-get, so it needs root (CI runs as root) when something is missing.
set -euo pipefail

# command -> Debian package
declare -A PACKAGE_OF=(
  [python3]=python3
  [curl]=curl
  [openssl]=openssl
  [mbsync]=isync
  [offlineimap]=offlineimap3
)

missing=()
for cmd in python3 curl openssl mbsync offlineimap; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${PACKAGE_OF[$cmd]}")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-deps: missing test programs; install these Debian packages as root: ${missing[*]}" >&2
  echo "  sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: no apt-get here; install these yourself: ${missing[*]} (python3 curl openssl isync offlineimap3)" >&2
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
