#!/usr/bin/env bash
# Sideload cashlessd onto an Android-based terminal (Nexgo) over adb:
# binary, configuration and certificates, and a boot-time service. Upgrades
# keep the data, back the database up first, and roll back to the previous
# binary when the new one does not come up. See docs/install.md.
#
#   scripts/sideload.sh --config FILE [--cert F --key F --ca F] [--binary F] [-s SERIAL]
#   scripts/sideload.sh --rollback [-s SERIAL]
#   scripts/sideload.sh --remove [--purge] [-s SERIAL]
#
# Exit status: 0 done; 1 failed (an upgrade that failed its health check
# was rolled back); 2 usage.
set -euo pipefail

PREFIX=/data/cashlessd          # on the device; see docs/install.md
RC_DIR=/system/etc/init         # Android init reads *.rc here at boot
ADB=${ADB:-adb}
HEALTH_TIMEOUT=${SIDELOAD_HEALTH_TIMEOUT:-45}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOF'

options:
  --config FILE     cashlessd.toml for the terminal (install: required). Its
                    data_dir should be /data/cashlessd/var and its tls files
                    /data/cashlessd/etc/tls/{terminal.pem,terminal-key.pem,ca.pem}
  --cert/--key/--ca F   VINR-issued terminal certificate, key and CA bundle
  --binary FILE     cashlessd for the device (default: dist/cashlessd-linux-ARCH
                    for the device's CPU; `make release` builds them)
  -s, --serial S    the device, when adb sees several
  --no-boot-service do not install /system/etc/init/cashlessd.rc
  --no-start        install but do not (re)start the daemon
  --rollback        go back to the previous binary
  --remove          stop and remove cashlessd; the data (/data/cashlessd/var)
                    is kept unless --purge
EOF
}

die() { echo "sideload: $*" >&2; exit 1; }
say() { echo "sideload: $*"; }

action=install config="" cert="" key="" ca="" binary="" serial="" boot=1 start=1 purge=0
while [ $# -gt 0 ]; do
  case $1 in
    --config) config=${2:?}; shift ;;
    --cert) cert=${2:?}; shift ;;
    --key) key=${2:?}; shift ;;
    --ca) ca=${2:?}; shift ;;
    --binary) binary=${2:?}; shift ;;
    -s|--serial) serial=${2:?}; shift ;;
    --no-boot-service) boot=0 ;;
    --no-start) start=0 ;;
    --rollback) action=rollback ;;
    --remove) action=remove ;;
    --purge) purge=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; echo "sideload: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [ "$action" = install ] && [ -z "$config" ]; then
  usage >&2; echo "sideload: --config is required" >&2; exit 2
fi
if [ -n "$cert" ] || [ -n "$key" ]; then
  [ -n "$cert" ] && [ -n "$key" ] || { echo "sideload: --cert and --key go together" >&2; exit 2; }
fi
for f in "$config" "$cert" "$key" "$ca" "$binary"; do
  [ -z "$f" ] || [ -r "$f" ] || die "cannot read $f"
done

adb_() { if [ -n "$serial" ]; then "$ADB" -s "$serial" "$@"; else "$ADB" "$@"; fi; }

# dsh CMD: run CMD in the device's shell and return its exit status (also
# with adb versions whose `shell` does not pass the status on).
dsh() {
  local out rc
  out=$(adb_ shell "$1; echo __rc=\$?" | tr -d '\r') || return 1
  rc=$(printf '%s\n' "$out" | sed -n 's/^__rc=//p' | tail -1)
  printf '%s\n' "$out" | sed '/^__rc=/d'
  [ "${rc:-1}" = 0 ]
}

# --- preflight
command -v "$ADB" >/dev/null || die "adb not found (install Android platform-tools, or set ADB=)"
state=$(adb_ get-state 2>&1 | tr -d '\r') || true
[ "$state" = device ] || die "no device ready: adb get-state says '$state' (connect it, allow USB debugging, use -s SERIAL)"
if [ "$(dsh 'id -u')" != 0 ]; then
  say "restarting adbd as root"
  adb_ root >/dev/null 2>&1 || true
  adb_ wait-for-device
  [ "$(dsh 'id -u')" = 0 ] || die "cannot get root over adb (a user build?): cashlessd needs root to install a boot service and reach the serial devices"
fi

init="sh $PREFIX/bin/cashlessd.init"

# data_dir of the configuration on the device (for the health check).
data_dir=$PREFIX/var
if [ -n "$config" ]; then
  d=$(sed -n 's/^[[:space:]]*data_dir[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$config" | head -1)
  if [ -n "$d" ]; then data_dir=$d; else
    say "warning: $config sets no data_dir: the daemon will use /var/lib/cashlessd, not $PREFIX/var"
    data_dir=/var/lib/cashlessd
  fi
  case $data_dir in "$PREFIX"/*) ;; *) say "warning: data_dir $data_dir is outside $PREFIX (see docs/install.md)" ;; esac
fi

# healthy: the daemon runs and its admin socket answers within HEALTH_TIMEOUT.
healthy() {
  local i=0
  while [ $i -lt "$HEALTH_TIMEOUT" ]; do
    if dsh "test -S $data_dir/admin.sock && $init status" >/dev/null 2>&1; then
      sleep 2 # still up a moment later: not a start-and-crash loop
      dsh "test -S $data_dir/admin.sock && $init status" >/dev/null 2>&1 && return 0
    fi
    sleep 1
    i=$((i + 1))
  done
  return 1
}

show_logs() {
  echo "---- last lines of $PREFIX/var/cashlessd.stderr ----" >&2
  dsh "tail -n 20 $PREFIX/var/cashlessd.stderr 2>/dev/null" >&2 || true
}

# switch_to TARGET: point bin/cashlessd at releases/TARGET atomically.
switch_to() {
  dsh "ln -sfn ../releases/$1 $PREFIX/bin/cashlessd.new && mv -f $PREFIX/bin/cashlessd.new $PREFIX/bin/cashlessd"
}

current_release() { dsh "readlink $PREFIX/bin/cashlessd 2>/dev/null || true" | sed 's#.*/##'; }
previous_release() { dsh "readlink $PREFIX/bin/cashlessd.previous 2>/dev/null || true" | sed 's#.*/##'; }

remove_boot_service() {
  if dsh "test -e $RC_DIR/cashlessd.rc" >/dev/null; then
    adb_ remount >/dev/null 2>&1 || true
    dsh "rm -f $RC_DIR/cashlessd.rc" >/dev/null || say "warning: could not remove $RC_DIR/cashlessd.rc (read-only /system?)"
  fi
}

case $action in
remove)
  dsh "test -e $PREFIX/bin/cashlessd.init && $init stop" || true
  remove_boot_service
  dsh "rm -rf $PREFIX/bin $PREFIX/releases $PREFIX/etc"
  if [ "$purge" = 1 ]; then
    dsh "rm -rf $PREFIX"
    say "removed cashlessd and its data"
  else
    say "removed cashlessd; the data is kept in $PREFIX/var (--purge removes it)"
  fi
  exit 0
  ;;
rollback)
  prev=$(previous_release)
  [ -n "$prev" ] && dsh "test -x $PREFIX/releases/$prev" >/dev/null || die "no previous release on the device"
  cur=$(current_release)
  dsh "$init stop"
  switch_to "$prev"
  [ -n "$cur" ] && dsh "ln -sfn ../releases/$cur $PREFIX/bin/cashlessd.previous"
  dsh "$init start"
  healthy || { show_logs; die "the previous release $prev does not come up either"; }
  say "rolled back to $prev"
  exit 0
  ;;
esac

# --- install or upgrade
case $(dsh 'uname -m') in
  aarch64|arm64|armv8*) arch=arm64 ;;
  armv7*|arm) arch=armv7 ;;
  x86_64) arch=amd64 ;;
  *) arch=unknown ;;
esac
if [ -z "$binary" ]; then
  [ "$arch" != unknown ] || die "unknown device CPU $(dsh 'uname -m'): give --binary"
  binary=$REPO/dist/cashlessd-linux-$arch
  [ -r "$binary" ] || die "no $binary: run \`make release\` or give --binary"
fi
sum=$(sha256sum "$binary" | cut -c1-64)
release=cashlessd-${sum:0:12}
say "device CPU $arch; installing $(basename "$binary") as $release"

dsh "mkdir -p $PREFIX/bin $PREFIX/releases $PREFIX/etc/tls $PREFIX/var/run && chmod 0755 $PREFIX $PREFIX/bin $PREFIX/releases && chmod 0700 $PREFIX/etc $PREFIX/etc/tls $PREFIX/var" >/dev/null

# push SRC DST MODE: copy to DST.tmp, set the mode, rename into place.
push() {
  adb_ push "$1" "$2.tmp" >/dev/null || die "adb push $1 failed"
  dsh "chmod $3 $2.tmp && mv -f $2.tmp $2" >/dev/null || die "installing $2 failed"
}

if ! dsh "test -x $PREFIX/releases/$release" >/dev/null; then
  adb_ push "$binary" "$PREFIX/releases/$release.tmp" >/dev/null || die "adb push $binary failed"
  remote=$(dsh "sha256sum $PREFIX/releases/$release.tmp" | cut -c1-64)
  [ "$remote" = "$sum" ] || die "the binary arrived damaged (sha256 $remote, want $sum)"
  dsh "chmod 0755 $PREFIX/releases/$release.tmp && mv -f $PREFIX/releases/$release.tmp $PREFIX/releases/$release" >/dev/null
fi
version=$(dsh "$PREFIX/releases/$release version") || die "the new binary does not run on this device (wrong CPU? $arch)"
say "new binary runs: version $version"

push "$REPO/configs/cashlessd.init" "$PREFIX/bin/cashlessd.init" 0755
push "$config" "$PREFIX/etc/cashlessd.toml" 0600
[ -z "$cert" ] || push "$cert" "$PREFIX/etc/tls/terminal.pem" 0600
[ -z "$key" ] || push "$key" "$PREFIX/etc/tls/terminal-key.pem" 0600
[ -z "$ca" ] || push "$ca" "$PREFIX/etc/tls/ca.pem" 0644

if [ "$boot" = 1 ]; then
  adb_ remount >/dev/null 2>&1 || true
  if ! { adb_ push "$REPO/configs/cashlessd.rc" "$RC_DIR/cashlessd.rc" >/dev/null 2>&1 &&
         dsh "chmod 0644 $RC_DIR/cashlessd.rc" >/dev/null; }; then
    die "cannot write $RC_DIR (read-only /system, verity on?): disable verity (adb disable-verity; reboot) or use --no-boot-service"
  fi
  say "boot service installed: $RC_DIR/cashlessd.rc (init reads it at the next boot)"
fi

prev=$(current_release)
if [ "$prev" = "$release" ]; then
  say "same binary as installed: configuration refreshed"
  prev=$(previous_release)
fi

[ "$start" = 1 ] && dsh "$init stop"
# A copy of the database from before the upgrade (the daemon is stopped, so
# it is consistent); the newest three are kept. Not with --no-start: the
# daemon still runs and holds the file.
[ "$start" = 0 ] || dsh "if [ -f $data_dir/cashless.db ]; then mkdir -p $data_dir/backup && chmod 0700 $data_dir/backup && cp $data_dir/cashless.db $data_dir/backup/cashless.db.\$(date +%Y%m%d%H%M%S) && chmod 0600 $data_dir/backup/*; ls -1t $data_dir/backup/cashless.db.* | tail -n +4 | while read -r f; do rm -f \"\$f\"; done; fi" >/dev/null
cur=$(current_release)
if [ -n "$cur" ] && [ "$cur" != "$release" ]; then
  dsh "ln -sfn ../releases/$cur $PREFIX/bin/cashlessd.previous"
  prev=$cur
fi
switch_to "$release"
if [ "$start" = 0 ]; then
  say "installed $release; not started (--no-start)"
  exit 0
fi
dsh "$init start" || true

if ! healthy; then
  show_logs
  if [ -n "$prev" ] && [ "$prev" != "$release" ] && dsh "test -x $PREFIX/releases/$prev" >/dev/null; then
    say "the new release did not come up: rolling back to $prev"
    dsh "$init stop" || true
    switch_to "$prev"
    dsh "$init start" || true
    if healthy; then
      die "upgrade to $release FAILED and was rolled back to $prev (data kept)"
    fi
    show_logs
    die "upgrade to $release FAILED, and $prev does not come up either (database backup in $data_dir/backup)"
  fi
  die "$release did not come up (see the log above; \`$0 --remove\` undoes the install)"
fi

# Keep the current and the previous release only.
keep="$release ${prev:-none}"
dsh "cd $PREFIX/releases && for f in cashlessd-*; do case \" $keep \" in *\" \$f \"*) ;; *) rm -f \"\$f\" ;; esac; done" >/dev/null || true
say "cashlessd $version is running on the device (data in $data_dir)"
say "diag:"
dsh "$PREFIX/bin/cashlessd diag --config $PREFIX/etc/cashlessd.toml" | sed 's/^/  /' || true
