#!/usr/bin/env bash
# `make sam-local-setup`: what `sam local invoke` needs on this machine, idempotent, never pulling an image.
#   - Debian's docker.io and debootstrap, installed when missing;
#   - dockerd: an already running daemon is used as it is; otherwise one is started in the background with
#     its pid and log in $SAMLOCAL_STATE (dockerd.pid, dockerd.log), and stopped by stop-dockerd.sh;
#   - iptables: container traffic to any address but the bridge's is dropped (nothing leaves the machine);
#   - the image $SAMLOCAL_IMAGE, built once from a debootstrap'd minimal Debian root, this machine's
#     Python 3.12 and awslambdaric, laid out like Lambda's Python base image.
# Needs root (apt-get, dockerd, iptables, debootstrap).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="${SAMLOCAL_STATE:-$REPO/.samlocal}"
IMAGE="${SAMLOCAL_IMAGE:-local/lambda-python:3.12-x86_64}"
MIRROR="${SAMLOCAL_MIRROR:-http://deb.debian.org/debian}"
PYTHON312="${PYTHON312:-$(PYENV_VERSION=3.12.1 pyenv which python3.12 2>/dev/null || command -v python3.12)}"
# boto3 comes with Lambda's runtime, not with the layer; the dev venv's version stands in for it.
BOTO3_VERSION="${BOTO3_VERSION:-$(sed -n 's/^boto3==//p' "$REPO/requirements-dev.txt")}"
AWSLAMBDARIC_VERSION="${AWSLAMBDARIC_VERSION:-4.2.2}"
# What the interpreter's extension modules link against beyond minbase (see `ldd lib-dynload/*.so`).
RUNTIME_PACKAGES="ca-certificates,libssl3,libffi8,libsqlite3-0,libexpat1,libuuid1,libreadline8,libncursesw6,libtirpc3,libnsl2,libgdbm6"

say() { printf 'sam-local-setup: %s\n' "$*"; }

[[ "$(id -u)" == 0 ]] || { echo "sam-local-setup needs root (apt-get, dockerd, iptables, debootstrap)" >&2; exit 1; }
[[ "$(uname -m)" == x86_64 ]] || { echo "sam-local-setup builds an x86_64 image and needs an x86_64 machine" >&2; exit 1; }
[[ -x "$PYTHON312" ]] || { echo "python3.12 not found (pyenv 3.12.1 or python3.12 on PATH)" >&2; exit 1; }
mkdir -p "$STATE"

# --- packages ----------------------------------------------------------------------------------
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v iptables >/dev/null || missing+=(iptables)
command -v ip >/dev/null || missing+=(iproute2)
if ((${#missing[@]})); then
    say "installing ${missing[*]} (apt)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >"$STATE/apt.log" 2>&1 \
        || { cat "$STATE/apt.log" >&2; exit 1; }
fi

# --- dockerd -----------------------------------------------------------------------------------
if docker info >/dev/null 2>&1; then
    if [[ -f "$STATE/dockerd.pid" && "$(cat "/proc/$(cat "$STATE/dockerd.pid")/comm" 2>/dev/null)" == dockerd ]]; then
        say "dockerd running (pid $(cat "$STATE/dockerd.pid"), started here; log $STATE/dockerd.log)"
    else
        rm -f "$STATE/dockerd.pid"
        say "dockerd already running (not started here; left alone)"
    fi
else
    say "starting dockerd (log $STATE/dockerd.log)"
    # setsid: the daemon outlives this script and make, in its own session; its pid is what stop-dockerd.sh ends.
    setsid dockerd >"$STATE/dockerd.log" 2>&1 </dev/null &
    echo $! >"$STATE/dockerd.pid"
    for _ in $(seq 1 120); do
        docker info >/dev/null 2>&1 && break
        kill -0 "$(cat "$STATE/dockerd.pid")" 2>/dev/null || { tail -20 "$STATE/dockerd.log" >&2; exit 1; }
        sleep 0.5
    done
    docker info >/dev/null 2>&1 || { tail -20 "$STATE/dockerd.log" >&2; echo "dockerd did not come up" >&2; exit 1; }
    say "dockerd running (pid $(cat "$STATE/dockerd.pid"))"
fi

# --- containers reach the bridge's address only --------------------------------------------------
BRIDGE_IF="$(docker network inspect bridge -f '{{index .Options "com.docker.network.bridge.name"}}')"
BRIDGE_IF="${BRIDGE_IF:-docker0}"
# The address demo-up forwards the stack on is the interface's own (bridge.py asks the kernel); Docker's IPAM
# Gateway says the same but is empty on a daemon's first start (moby/moby#26799: how CI found it), so the
# interface is asked first and IPAM second.
bridge_address() {
    ip -4 -o addr show dev "$BRIDGE_IF" 2>/dev/null | awk '{ split($4, cidr, "/"); print cidr[1]; exit }'
    docker network inspect bridge -f '{{range .IPAM.Config}}{{.Gateway}} {{end}}' 2>/dev/null | awk '{ print $1 }'
}
BRIDGE_IP=""
for _ in $(seq 1 20); do
    BRIDGE_IP="$(bridge_address | grep -m1 -E '^[0-9]+(\.[0-9]+){3}$' || true)"
    [[ -n "$BRIDGE_IP" ]] && break
    sleep 0.5
done
if [[ -z "$BRIDGE_IP" ]]; then
    {
        echo "sam-local-setup: the Docker bridge $BRIDGE_IF has no IPv4 address, so no container could reach the stack"
        echo "--- ip addr show dev $BRIDGE_IF"; ip addr show dev "$BRIDGE_IF" 2>&1 || true
        echo "--- docker network inspect bridge (IPAM)"; docker network inspect bridge -f '{{json .IPAM}}' 2>&1 || true
        echo "--- dockerd log, last lines ($STATE/dockerd.log)"; tail -15 "$STATE/dockerd.log" 2>/dev/null || true
    } >&2
    exit 1
fi
# Routed traffic (to the internet or another host) goes through FORWARD, where Docker keeps DOCKER-USER for
# rules like this one; traffic to the host's other addresses goes through INPUT.
for chain in DOCKER-USER INPUT; do
    rule=(-i "$BRIDGE_IF" ! -d "$BRIDGE_IP" -j DROP)
    iptables -C "$chain" "${rule[@]}" 2>/dev/null || iptables -I "$chain" "${rule[@]}"
done
say "containers on $BRIDGE_IF reach $BRIDGE_IP only (iptables DOCKER-USER and INPUT drop the rest)"

# --- the image -----------------------------------------------------------------------------------
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    say "image $IMAGE present"
    exit 0
fi
started=$SECONDS
rootfs="$STATE/rootfs"
rm -rf "$rootfs"
say "debootstrap --variant=minbase bookworm (from $MIRROR)"
debootstrap --variant=minbase --include="$RUNTIME_PACKAGES" bookworm "$rootfs" "$MIRROR" >"$STATE/debootstrap.log" 2>&1 \
    || { tail -30 "$STATE/debootstrap.log" >&2; exit 1; }
say "debootstrap done in $((SECONDS - started)) s"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*

# The interpreter at /var/lang, as in Lambda's image; its tests, tkinter and idle are not needed.
python_home="$("$PYTHON312" -c 'import sys; print(sys.base_prefix)')"
say "copying Python from $python_home to /var/lang"
mkdir -p "$rootfs/var/lang"
tar -C "$python_home" --exclude='lib/python3.12/test' --exclude='lib/python3.12/idlelib' \
    --exclude='lib/python3.12/tkinter' --exclude='lib/python3.12/turtledemo' --exclude='*.a' \
    --exclude='lib/python3.12/site-packages/*' -cf - . | tar -C "$rootfs/var/lang" -xf -
ln -sf python3.12 "$rootfs/var/lang/bin/python3"
ln -sf python3 "$rootfs/var/lang/bin/python"

say "pip install awslambdaric==$AWSLAMBDARIC_VERSION boto3==$BOTO3_VERSION into /var/runtime"
mkdir -p "$rootfs/var/runtime" "$rootfs/var/task" "$rootfs/opt"
"$PYTHON312" -m pip install -q --disable-pip-version-check --no-compile --target "$rootfs/var/runtime" \
    "awslambdaric==$AWSLAMBDARIC_VERSION" "boto3==$BOTO3_VERSION" >"$STATE/pip.log" 2>&1 \
    || { cat "$STATE/pip.log" >&2; exit 1; }
cat >"$rootfs/var/runtime/bootstrap" <<'BOOTSTRAP'
#!/bin/sh
# Started by the Runtime Interface Emulator (SAM adds it); the handler arrives as $_HANDLER.
exec /var/lang/bin/python3.12 -m awslambdaric "$_HANDLER"
BOOTSTRAP
chmod 755 "$rootfs/var/runtime/bootstrap"
# Fail here, not at the first invoke, when a library the interpreter needs is missing from the root.
chroot "$rootfs" /usr/bin/env -i LD_LIBRARY_PATH=/var/lang/lib PYTHONPATH=/var/runtime \
    /var/lang/bin/python3.12 -c 'import ssl, ctypes, sqlite3, lzma, bz2, zlib, json, uuid, awslambdaric, boto3' \
    || { echo "the image's Python cannot import its standard modules (see ldd)" >&2; exit 1; }

say "docker import $IMAGE"
tar -C "$rootfs" -cf - . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV TZ=:/etc/localtime' \
    --change 'ENV PATH=/var/lang/bin:/usr/local/bin:/usr/bin:/bin:/opt/bin' \
    --change 'ENV LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib' \
    --change 'ENV PYTHONPATH=/var/task:/opt/python/lib/python3.12/site-packages:/opt/python:/var/runtime' \
    --change 'ENV LAMBDA_TASK_ROOT=/var/task' \
    --change 'ENV LAMBDA_RUNTIME_DIR=/var/runtime' \
    --change 'WORKDIR /var/task' \
    --change 'ENTRYPOINT ["/var/runtime/bootstrap"]' \
    - "$IMAGE" >/dev/null
rm -rf "$rootfs"
say "image $IMAGE built in $((SECONDS - started)) s ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%d MB", $1/1e6}'))"
