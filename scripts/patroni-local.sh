#!/usr/bin/env bash
# A local Patroni + etcd set-up for one Petrel repository, to try fail-over by
# hand: one etcd and two Patroni nodes (each with its own PostgreSQL), all on
# 127.0.0.1 on free ports, under one temp dir. It prints the
# storage.postgres_url to put into petrel.toml (every node, with
# target_session_attrs=primary), runs in the foreground, and Ctrl-C stops and
# removes everything.
#
#   scripts/patroni-local.sh [--nodes 2] [--async] [--ttl 20] [--loop-wait 1]
#                            [--retry-timeout N] [--database petrel]
#
# --async turns Patroni's synchronous_mode off (the default is on: only the
# synchronous standby may be promoted, so no acknowledged mail is lost).
# --ttl/--loop-wait/--retry-timeout are Patroni's DCS timings: a lost leader
# is replaced about ttl seconds after its last renewal; retry_timeout
# defaults to 5, or less so that loop_wait + 2 * retry_timeout <= ttl.
#
# Needs Debian's patroni and etcd-server packages and PostgreSQL's server
# binaries (apt-get install patroni etcd-server postgresql; PETREL_PG_BIN
# picks another PostgreSQL). Run as root, PostgreSQL and Patroni run as the
# `postgres` user (PostgreSQL refuses root).
#
# The Patroni configuration is written by test/support/patroni.ts (the same
# code the fail-over test uses; its header describes every setting), so each
# node's patroni.yml, printed path, is what the tests run.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v patroni >/dev/null 2>&1 || missing+=(patroni)
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "patroni-local: missing programs; install the Debian packages: apt-get install ${missing[*]}" >&2
  exit 1
fi
exec node --import tsx test/support/patroni-local.ts "$@"
