#!/usr/bin/env bash
# Installs what the Dovecot bench target needs (Debian packages) and the
# unprivileged system user that owns the private Dovecot's mail files.
# Idempotent: does nothing when everything is already there. Run as root.
set -euo pipefail

BENCH_USER="${PETREL_BENCH_MAIL_USER:-petrelbench}"

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-dovecot.sh: must run as root (apt-get, useradd)" >&2
  exit 1
fi

missing=()
for pkg in dovecot-imapd dovecot-lmtpd; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  # The packages' postinst starts a system-wide dovecot on ports 143/993 when
  # an init system is present; policy-rc.d stops that (the bench runs its own).
  had_policy=0
  if [ -e /usr/sbin/policy-rc.d ]; then had_policy=1; fi
  if [ "$had_policy" -eq 0 ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
  fi
  apt-get install -y --no-install-recommends "${missing[@]}"
  if [ "$had_policy" -eq 0 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

if ! id -u "$BENCH_USER" >/dev/null 2>&1; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$BENCH_USER"
fi

command -v dovecot >/dev/null || { echo "setup-dovecot.sh: dovecot binary not found after install" >&2; exit 1; }
echo "dovecot $(dovecot --version) ready; mail uid=$(id -u "$BENCH_USER") gid=$(id -g "$BENCH_USER")"
