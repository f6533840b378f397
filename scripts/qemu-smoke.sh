#!/usr/bin/env bash
# Smoke test of an ARM linux release build: run cashlessd under qemu-user
# (qemu-aarch64-static for arm64, qemu-arm-static for armv7) in simulator
# mode on 127.0.0.1, make one sale over TLS with the same build's cashless
# CLI (and curl when present), stop it with SIGTERM. Also prints, for
# information only, start-up time and idle RSS of the ARM build under qemu
# next to the native amd64 build.
#
#   scripts/qemu-smoke.sh [arm64|armv7]   # default arm64; installs qemu-user-static
#                                         # when missing (root, Debian)
#   QEMU_SMOKE_NO_INSTALL=1 …             # fail instead of installing
#
# Exit status: 0 passed, 1 failed (with the daemon's log on stderr).
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
READY_TIMEOUT=${READY_TIMEOUT:-90}   # seconds; qemu is slow to start a Go binary on a busy CI
SALE_TIMEOUT=${SALE_TIMEOUT:-60}
STOP_TIMEOUT=${STOP_TIMEOUT:-45}

say() { echo "qemu-smoke: $*"; }
fail() { echo "qemu-smoke: FAILED: $*" >&2; exit 1; }

ARCH=${1:-${ARCH:-arm64}}
case $ARCH in
  # GOARCH/GOARM, qemu binary, ELF e_machine (little-endian hex)
  arm64) GOENV=(GOARCH=arm64); QEMU_BIN=qemu-aarch64-static; MACHINE=b700 ;;
  armv7) GOENV=(GOARCH=arm GOARM=7); QEMU_BIN=qemu-arm-static; MACHINE=2800 ;;
  *) fail "unknown ARCH $ARCH (arm64 or armv7)" ;;
esac

QEMU=$(command -v "$QEMU_BIN" || true)
if [ -z "$QEMU" ]; then
  if [ -n "${QEMU_SMOKE_NO_INSTALL:-}" ] || [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    fail "$QEMU_BIN is missing (apt-get install qemu-user-static)"
  fi
  say "installing qemu-user-static"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static >/dev/null
  QEMU=$(command -v "$QEMU_BIN") || fail "qemu-user-static installed no $QEMU_BIN"
fi
say "$("$QEMU" --version | head -1)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cashless-qemu-smoke.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && kill -KILL "$p" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

say "building linux/$ARCH and linux/amd64 binaries"
for arch in "$ARCH" amd64; do
  env=(GOARCH=amd64)
  [ "$arch" = amd64 ] || env=("${GOENV[@]}")
  for c in cashlessd cashless; do
    env CGO_ENABLED=0 GOOS=linux "${env[@]}" "$GO" build -trimpath -ldflags '-s -w -X main.version=qemu-smoke' \
      -o "$WORK/$c-$arch" "./cmd/$c" || fail "go build $c for $arch"
  done
done
file_arch=$(od -An -tx1 -j18 -N2 "$WORK/cashlessd-$ARCH" | tr -d ' ')
[ "$file_arch" = "$MACHINE" ] || fail "cashlessd-$ARCH is not an ELF for $ARCH (e_machine $file_arch)"

now_ms() { date +%s%3N; }

# start NAME CMD...: runs the daemon in simulator mode on a random loopback
# port, waits for its "cashlessd ready" log line and sets ADDR, PID,
# STARTUP_MS and DATA.
start() {
  local name=$1; shift
  DATA="$WORK/data-$name"
  local log="$WORK/$name.log"
  local t0; t0=$(now_ms)
  "$@" serve --simulator --listen 127.0.0.1:0 --data-dir "$DATA" 2>"$log" &
  PID=$!
  PIDS+=("$PID")
  ADDR=""
  local deadline=$(( $(date +%s) + READY_TIMEOUT ))
  while [ -z "$ADDR" ]; do
    if ! kill -0 "$PID" 2>/dev/null; then
      cat "$log" >&2; fail "$name: cashlessd exited before it was ready"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      cat "$log" >&2; fail "$name: cashlessd not ready within ${READY_TIMEOUT}s"
    fi
    ADDR=$(sed -n 's/.*"listen":"\([^"]*\)".*"message":"cashlessd ready".*/\1/p' "$log" | head -1)
    [ -n "$ADDR" ] || sleep 0.05
  done
  STARTUP_MS=$(( $(now_ms) - t0 ))
}

# stop NAME: SIGTERM, wait for a clean exit.
stop() {
  local name=$1
  kill -TERM "$PID"
  local deadline=$(( $(date +%s) + STOP_TIMEOUT ))
  while kill -0 "$PID" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      cat "$WORK/$name.log" >&2; fail "$name: cashlessd did not stop within ${STOP_TIMEOUT}s of SIGTERM"
    fi
    sleep 0.1
  done
  local rc=0
  wait "$PID" || rc=$?
  [ "$rc" = 0 ] || { cat "$WORK/$name.log" >&2; fail "$name: cashlessd exited with status $rc"; }
  grep -q '"message":"stopped"' "$WORK/$name.log" || { cat "$WORK/$name.log" >&2; fail "$name: no clean stop in the log"; }
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# --- the ARM build under qemu: the smoke test proper
start "$ARCH" "$QEMU" "$WORK/cashlessd-$ARCH"
say "$ARCH cashlessd under qemu ready on $ADDR after ${STARTUP_MS} ms"
ARM_STARTUP=$STARTUP_MS
sleep 2
ARM_RSS=$(rss_kib "$PID")

out=$(timeout "$SALE_TIMEOUT" "$QEMU" "$WORK/cashless-$ARCH" --addr "https://$ADDR" --ca "$DATA/certs/ca.pem" \
  --key ck_test_simulator sale --amount 2500 --currency USD --reference QEMU-SMOKE-1 2>&1) || {
  echo "$out" >&2; cat "$WORK/$ARCH.log" >&2; fail "sale with the $ARCH cashless CLI"; }
echo "$out" | grep -q APPROVED || { echo "$out" >&2; fail "the sale was not approved"; }
say "sale ($ARCH cashless CLI over TLS): $(echo "$out" | head -1)"

if command -v curl >/dev/null; then
  body=$(curl -sS --max-time "$SALE_TIMEOUT" --cacert "$DATA/certs/ca.pem" -H 'X-VINR-Cashless-Key: ck_test_simulator' \
    -d '{"amount":1200,"currency":"USD","reference":"QEMU-SMOKE-2"}' "https://$ADDR/cashless/v1/sale") || {
    cat "$WORK/$ARCH.log" >&2; fail "sale with curl"; }
  echo "$body" | grep -q '"status":"approved"' || { echo "$body" >&2; fail "curl: the sale was not approved"; }
  say "sale (curl over TLS): approved"
fi
stop "$ARCH"
say "$ARCH cashlessd stopped cleanly on SIGTERM"

# --- native amd64, for comparison only (no pass/fail on timings)
if [ "$(uname -m)" = x86_64 ]; then
  start amd64 "$WORK/cashlessd-amd64"
  AMD_STARTUP=$STARTUP_MS
  sleep 2
  AMD_RSS=$(rss_kib "$PID")
  stop amd64
  say "start-up: $ARCH under qemu ${ARM_STARTUP} ms, native amd64 ${AMD_STARTUP} ms" \
      "(x$(awk -v a="$ARM_STARTUP" -v b="$AMD_STARTUP" 'BEGIN { printf "%.1f", a / (b > 0 ? b : 1) }'))"
  say "idle RSS: $ARCH under qemu ${ARM_RSS} KiB (qemu included), native amd64 ${AMD_RSS} KiB" \
      "(x$(awk -v a="$ARM_RSS" -v b="$AMD_RSS" 'BEGIN { printf "%.1f", a / (b > 0 ? b : 1) }'))"
fi
say "passed"
