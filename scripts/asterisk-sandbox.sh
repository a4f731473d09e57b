#!/usr/bin/env bash
# A real Asterisk 22 (Debian sid) in a chroot, with the project's config.
#
#   asterisk-sandbox.sh up        build once (cached), start, wait for ARI
#   asterisk-sandbox.sh down      stop cleanly and unmount
#   asterisk-sandbox.sh restart   down, then up
#   asterisk-sandbox.sh status    exit 0 when ARI answers
#   asterisk-sandbox.sh cli CMD   run an Asterisk CLI command
#
# Environment:
#   CENTRALINO_CACHE          cache dir (default /var/cache/centralino)
#   CENTRALINO_ARI_USER       ARI user (default centralino)
#   CENTRALINO_ARI_PASSWORD   ARI password (default centralino, dev only)
#   CENTRALINO_SIP_BIND       SIP transport address (default 127.0.0.1:5060)
#   CENTRALINO_DESK_PASSWORD  the desks' SIP password (default centralino,
#                             refused when SIP is bound off loopback)
#   DEBIAN_MIRROR             mirror (default: the host's apt mirror)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${CENTRALINO_CACHE:-/var/cache/centralino}
root=$cache/asterisk-sid
log=$cache/asterisk.log
pidfile=$cache/asterisk.pid
lock=$cache/asterisk.lock
started_with=$cache/asterisk.started-with
etc=/etc/centralino-asterisk
ari_user=${CENTRALINO_ARI_USER:-centralino}
ari_password=${CENTRALINO_ARI_PASSWORD:-centralino}
sip_bind=${CENTRALINO_SIP_BIND:-127.0.0.1:5060}
desk_password=${CENTRALINO_DESK_PASSWORD:-centralino}
ari_url=http://127.0.0.1:8088/ari
packages="asterisk asterisk-core-sounds-it-gsm asterisk-core-sounds-en-gsm"
stamp_text="sid minbase: $packages"

say() { printf 'asterisk-sandbox: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (chroot, mounts)"

mkdir -p "$cache"

mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local m
  m=$(grep -hoE '^URIs: *http[^ ]+debian/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | awk '{print $2}')
  [ -n "$m" ] || m=$(grep -hoE '^deb +http[^ ]+debian/? ' /etc/apt/sources.list 2>/dev/null | head -1 | awk '{print $2}')
  echo "${m:-http://deb.debian.org/debian}"
}

ari_up() {
  curl -fsS -m 2 -u "$ari_user:$ari_password" "$ari_url/asterisk/info" >/dev/null 2>&1
}

running() {
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

mount_all() {
  mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
  mountpoint -q "$root/dev" || mount --bind /dev "$root/dev"
}

umount_all() {
  for m in dev proc; do
    mountpoint -q "$root/$m" && umount -l "$root/$m" || true
  done
}

# build makes the chroot once. It builds in a temporary directory and
# renames it only when complete, so an interrupted build is never reused.
build() {
  if [ -f "$root/.centralino-stamp" ] && [ "$(cat "$root/.centralino-stamp")" = "$stamp_text" ]; then
    return
  fi
  command -v debootstrap >/dev/null || {
    say "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  }
  command -v curl >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null
  local tmp=$root.tmp.$$
  trap 'for m in dev proc; do mountpoint -q "$tmp/$m" && umount -l "$tmp/$m"; done; rm -rf "$tmp"' EXIT
  say "building Asterisk chroot (once; about a minute) from $(mirror)"
  debootstrap --variant=minbase sid "$tmp" "$(mirror)" >"$cache/debootstrap.log" 2>&1 ||
    die "debootstrap failed: see $cache/debootstrap.log"
  cp /etc/resolv.conf "$tmp/etc/resolv.conf"
  mount -t proc proc "$tmp/proc"
  mount --bind /dev "$tmp/dev"
  chroot "$tmp" sh -c "apt-get -o Acquire::Check-Valid-Until=false update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages" \
    >"$cache/apt.log" 2>&1 || die "installing Asterisk failed: see $cache/apt.log"
  umount -l "$tmp/dev" "$tmp/proc"
  echo "$stamp_text" >"$tmp/.centralino-stamp"
  rm -rf "$root"
  mv "$tmp" "$root"
  trap - EXIT
}

# Development passwords only where nothing but this machine can try them.
loopback() { case "$1" in 127.*|localhost:*|\[::1\]:*) return 0 ;; esac; return 1; }
check_settings() {
  if ! loopback "$sip_bind" && [ "$desk_password" = centralino ]; then
    die "CENTRALINO_SIP_BIND=$sip_bind is off loopback: set CENTRALINO_DESK_PASSWORD (not the development default)"
  fi
  for v in "$ari_user" "$ari_password" "$sip_bind" "$desk_password"; do
    case "$v" in *[/\&\;\"\'[:space:]]*) die "ARI and SIP settings may not hold / & ; quotes or spaces" ;; esac
  done
}

# install_config copies the project's config, ARI credentials, prompts and
# music on hold into the chroot.
install_config() {
  check_settings
  rm -rf "$root$etc.new"
  mkdir -p "$root$etc.new"
  cp "$repo"/deploy/asterisk/*.conf "$root$etc.new/"
  sed -e "s/\${CENTRALINO_ARI_USER}/$ari_user/" -e "s/\${CENTRALINO_ARI_PASSWORD}/$ari_password/" \
    "$repo/deploy/asterisk/ari.conf.template" >"$root$etc.new/ari.conf"
  local sip_address=${sip_bind%:*}
  sip_address=${sip_address#[}
  sip_address=${sip_address%]}
  sed -e "s/\${CENTRALINO_SIP_BIND}/$sip_bind/" -e "s/\${CENTRALINO_SIP_ADDRESS}/$sip_address/" \
    -e "s/\${CENTRALINO_DESK_PASSWORD}/$desk_password/" \
    "$repo/deploy/asterisk/pjsip_site.conf.template" >"$root$etc.new/pjsip_site.conf"
  rm -rf "$root$etc"
  mv "$root$etc.new" "$root$etc"
  # Language "it" is Debian's Italian voice.
  local sounds=$root/usr/share/asterisk/sounds
  [ -e "$sounds/it" ] || ln -s it_IT_m_Carlo "$sounds/it"
  # centralino's prompts (rendered by `centralinoctl prompts`).
  if [ -d "$repo/deploy/sounds/generated/it/centralino" ]; then
    rm -rf "$sounds/it_IT_m_Carlo/centralino"
    cp -r "$repo/deploy/sounds/generated/it/centralino" "$sounds/it_IT_m_Carlo/centralino"
  fi
  # Music on hold: a soft two-tone chime when no music is installed.
  local moh=$root/var/lib/asterisk/moh-centralino
  mkdir -p "$moh"
  if [ -z "$(ls -A "$moh")" ]; then
    if command -v sox >/dev/null; then
      sox -n -r 8000 -c 1 -b 16 "$moh/chime.wav" synth 0.6 sine 660 synth 0.6 sine 880 \
        pad 0 2.8 repeat 7 vol 0.3 2>/dev/null
    else
      cp "$sounds/it_IT_m_Carlo/silence/1.gsm" "$moh/silence.gsm" 2>/dev/null || true
    fi
  fi
  mkdir -p "$root/var/run/asterisk" "$root/var/log/asterisk" "$root/var/spool/asterisk"
  # The sandbox names every peer by address: with no name server its SIP
  # stack opens no resolver socket (one on every address otherwise).
  : >"$root/etc/resolv.conf"
}

# needs_restart is what a reload does not apply (the modules loaded, the
# order res_pjsip identifies endpoints in): when it changed, up restarts.
needs_restart() {
  cat "$repo/deploy/asterisk/modules.conf" "$repo/deploy/asterisk/pjsip.conf" | sha256sum
}

start() {
  mount_all
  install_config
  needs_restart >"$started_with"
  say "starting Asterisk"
  # setsid: Asterisk outlives the make or test that started it.
  # 9>&-: Asterisk must not inherit (and hold) the sandbox lock.
  setsid chroot "$root" /usr/sbin/asterisk -f -C "$etc/asterisk.conf" >>"$log" 2>&1 </dev/null 9>&- &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    ari_up && { say "ARI answers on $ari_url"; return 0; }
    running || break
    sleep 0.5
  done
  tail -30 "$log" >&2 || true
  die "ARI did not answer within 60 s (log: $log)"
}

stop() {
  if running; then
    say "stopping Asterisk"
    chroot "$root" /usr/sbin/asterisk -C "$etc/asterisk.conf" -rx 'core stop now' >/dev/null 2>&1 || true
    for _ in $(seq 1 40); do running || break; sleep 0.25; done
    running && kill "$(cat "$pidfile")" 2>/dev/null || true
    sleep 0.5
    running && kill -9 "$(cat "$pidfile")" 2>/dev/null || true
  fi
  # An Asterisk started by hand (no pidfile) in the same chroot.
  pkill -f "/usr/sbin/asterisk -f -C $etc/asterisk.conf" 2>/dev/null || true
  rm -f "$pidfile"
  [ -d "$root" ] && umount_all
}

cmd=${1:-}
case "$cmd" in
  up)
    exec 9>"$lock"; flock 9
    build
    if running && ari_up && [ "$(cat "$started_with" 2>/dev/null)" = "$(needs_restart)" ]; then
      install_config
      chroot "$root" /usr/sbin/asterisk -C "$etc/asterisk.conf" -rx 'core reload' >/dev/null 2>&1 || true
      say "already running; configuration reloaded"
      exit 0
    fi
    stop
    start
    ;;
  down)
    exec 9>"$lock"; flock 9
    stop
    ;;
  restart)
    exec 9>"$lock"; flock 9
    build
    stop
    start
    ;;
  status)
    ari_up
    ;;
  cli)
    shift
    running || die "Asterisk is not running"
    chroot "$root" /usr/sbin/asterisk -C "$etc/asterisk.conf" -rx "$*"
    ;;
  *)
    echo "usage: $0 up|down|restart|status|cli CMD" >&2
    exit 2
    ;;
esac
