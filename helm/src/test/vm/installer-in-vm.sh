#!/bin/bash
# Run inside the cgroup v2 VM with systemd as PID 1 (../shared/vm/run-in-vm.sh --systemd): the chart's
# installer script as its DaemonSet runs it, on a node with a stand-in kubelet, then its undo path.
#   installer-in-vm.sh RENDERED_DIR DEB CRICTL
# RENDERED_DIR holds what the chart rendered: install.sh and config.yaml (the installer ConfigMap) and
# pod.env (the container's env, NAME=VALUE lines). The "pod": a private mount namespace with the
# node's / at /host (hostPath /), the ConfigMap files at /scripts and /config, the package in the
# image at $BERTH_PACKAGE; host PID namespace (hostPID: true). Between install and undo, a container
# outgrowing its memory limit must be reported OOMKilled and counted in /metrics. Prints
# "INSTALLER INSTALLED", "OOM KILL COUNTED" and "INSTALLER UNDONE" as each part holds.
set -euo pipefail
rendered=$1 deb=$2 crictl=$3
step() { echo "== $(date +%T) $*"; }
die() { echo "FAILED: $*" >&2; cat /tmp/installer.log >&2 || true; journalctl -u berth --no-pager -n 40 >&2 || true; exit 1; }
set -a; . "$rendered/pod.env"; set +a
cri() { "$crictl" --runtime-endpoint "unix://$BERTH_SOCKET" --timeout 60s "$@"; }

step "a node: kubelet (stand-in) on another runtime's socket, no berth"
! dpkg -s berth >/dev/null 2>&1 || die "berth is already installed in the guest"
[ ! -e /etc/berth/config.yaml ] || die "/etc/berth/config.yaml already exists"
mkdir -p "$(dirname "$KUBELET_CONFIG")"
cat > "$KUBELET_CONFIG" <<'YAML'
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
imageServiceEndpoint: unix:///run/containerd/containerd.sock
cgroupDriver: cgroupfs
YAML
cp "$KUBELET_CONFIG" /tmp/kubelet-config.before
# Each start of the stand-in records the runtime endpoint its config names.
cat > /run/systemd/system/kubelet.service <<UNIT
[Service]
ExecStart=/bin/sh -c 'grep "^containerRuntimeEndpoint:" $KUBELET_CONFIG >> /run/kubelet-starts; exec sleep infinity'
UNIT
systemctl daemon-reload
systemctl start kubelet.service
for _ in $(seq 1 30); do [ -s /run/kubelet-starts ] && break; sleep 1; done
[ "$(grep -c . /run/kubelet-starts)" = 1 ] || die "stand-in kubelet did not start"

# This node is emulated (no KVM): apt reading the build host's full package lists and man-db
# re-indexing took minutes there. The node's dependencies are installed (dpkg's status knows them),
# so the lists can be empty; the installer's apt-get runs in this same mount namespace (PID 1's).
rm -f /var/lib/man-db/auto-update
mount -t tmpfs apt-lists /var/lib/apt/lists && mkdir -p /var/lib/apt/lists/partial
mount -t tmpfs apt-cache /var/cache/apt && mkdir -p /var/cache/apt/archives/partial
# berth's JVM can take over 2 min to start under emulation on a loaded host; the unit allows 120 s.
mkdir -p /etc/systemd/system/berth.service.d
printf '[Service]\nTimeoutStartSec=600\n' > /etc/systemd/system/berth.service.d/emulated-node.conf

# The registry the OOM step below pulls from, on the guest's loopback (berth reads this file; the
# installer leaves it alone).
mkdir -p /etc/berth
cat > /etc/berth/registries.conf <<'CONF'
[[registry]]
location = "127.0.0.1:5055"
insecure = true
CONF

step "the installer pod starts"
mkdir -p /host /scripts /config "$(dirname "$BERTH_PACKAGE")"
touch "$BERTH_PACKAGE"
# unshare without --fork execs: $! is the script's own PID, as the container's main process.
unshare --mount --propagation private sh -c '
  set -e
  mount --rbind / /host
  mount --bind "$1" /scripts
  mount --bind "$1" /config
  mount --bind "$2" "$BERTH_PACKAGE"
  exec sh /scripts/install.sh' installer "$rendered" "$deb" > /tmp/installer.log 2>&1 &
pod=$!
for _ in $(seq 1 300); do
  grep -q "kubelet now uses" /tmp/installer.log && break
  kill -0 $pod 2>/dev/null || die "the installer exited: $(cat /tmp/installer.log)"
  sleep 1
done
cat /tmp/installer.log
grep -q "kubelet now uses unix://$BERTH_SOCKET" /tmp/installer.log || die "the installer did not finish installing"

step "installed: package, config from values, unit enabled and active, CRI answering"
dpkg -s berth | grep -qx 'Status: install ok installed' || die "package not installed"
cmp "$rendered/config.yaml" /etc/berth/config.yaml || die "/etc/berth/config.yaml is not the chart's config"
systemctl is-enabled berth.service | grep -qx enabled || die "berth.service not enabled"
systemctl is-active berth.service | grep -qx active || die "berth.service not active"
version=""
for _ in $(seq 1 10); do version=$(cri version 2>&1) && break; sleep 3; done
echo "$version"
echo "$version" | grep -q 'RuntimeName:.*berth' || die "no CRI answer on $BERTH_SOCKET"

step "kubelet switched to berth and restarted"
grep -qx "containerRuntimeEndpoint: unix://$BERTH_SOCKET" "$KUBELET_CONFIG" || die "kubelet config not switched"
grep -qx "imageServiceEndpoint: unix://$BERTH_SOCKET" "$KUBELET_CONFIG" || die "image endpoint not switched"
grep -q "^cgroupDriver: cgroupfs" "$KUBELET_CONFIG" || die "the rest of kubelet's config was lost"
for _ in $(seq 1 30); do [ "$(grep -c . /run/kubelet-starts)" -ge 2 ] && break; sleep 1; done
sed -n 2p /run/kubelet-starts | grep -qx "containerRuntimeEndpoint: unix://$BERTH_SOCKET" \
  || die "kubelet was not restarted onto berth: $(cat /run/kubelet-starts)"
systemctl is-active kubelet.service | grep -qx active || die "kubelet not active after the switch"

echo "INSTALLER INSTALLED"

# The memory controller this guest has and the build host lacks: the installed daemon reports a
# container that outgrows its limit as OOMKilled and counts it. A failure here is reported and the
# undo below still runs.
step "OOM kill: reported by ContainerStatus, counted by berth_container_oom_kills_total"
# A subshell run as a plain command (not an if/&& condition, which would turn errexit off in it).
set +e
(
  set -e
  registry_data=${REGISTRY_DATA:-/tmp/critest-kit/registry/data}
  [ -d "$registry_data" ] || { echo "no registry data at $registry_data"; exit 1; }
  cat > /tmp/registry.yml <<YML
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $registry_data}}
http: {addr: 127.0.0.1:5055}
YML
  setsid /usr/bin/docker-registry serve /tmp/registry.yml > /tmp/registry.log 2>&1 < /dev/null &
  for _ in $(seq 1 100); do curl -sf http://127.0.0.1:5055/v2/ >/dev/null && break; sleep 0.2; done
  image=127.0.0.1:5055/library/busybox:1.29
  cri pull "$image"
  cat > /tmp/oom-pod.json <<'JSON'
{"metadata": {"name": "oom-pod", "namespace": "default", "uid": "oom-pod-uid", "attempt": 0},
 "log_directory": "/tmp/oom-pod-logs",
 "linux": {"security_context": {"namespace_options": {"network": 2}}}}
JSON
  cat > /tmp/oom-ctr.json <<JSON
{"metadata": {"name": "hog"}, "image": {"image": "$image"},
 "command": ["sh", "-c", "x=\$(head -c 100000000 /dev/zero | tr '\\\\0' a); echo \${#x}"],
 "log_path": "hog.log",
 "linux": {"resources": {"memory_limit_in_bytes": 16777216}}}
JSON
  mkdir -p /tmp/oom-pod-logs
  pod=$(cri runp /tmp/oom-pod.json)
  ctr=$(cri create "$pod" /tmp/oom-ctr.json /tmp/oom-pod.json)
  cri start "$ctr"
  for _ in $(seq 1 120); do cri inspect "$ctr" | grep -q '"reason": "OOMKilled"' && break; sleep 1; done
  cri inspect "$ctr" | grep -E '"(state|reason|exitCode)"'
  cri inspect "$ctr" | grep -q '"reason": "OOMKilled"' || { echo "ContainerStatus does not say OOMKilled"; exit 1; }
  port=$(sed -n '/^http:/,/^[a-z]/s/^  port: *//p' /etc/berth/config.yaml)
  for _ in $(seq 1 30); do
    curl -sf -H 'Accept: text/plain; version=0.0.4' "http://127.0.0.1:${port:-10360}/metrics" > /tmp/metrics.txt || true
    grep -qE '^berth_container_oom_kills_total\{handler="runc",?\} [1-9]' /tmp/metrics.txt && break
    sleep 1
  done
  grep '^berth_container_oom_kills_total' /tmp/metrics.txt || true
  # (text format 0.0.4 allows a comma after the last label; berth's exporter writes one)
  grep -qE '^berth_container_oom_kills_total\{handler="runc",?\} 1(\.0)?$' /tmp/metrics.txt \
    || { echo "berth_container_oom_kills_total{handler=\"runc\"} is not 1"; exit 1; }
  cri rmp -f "$pod" >/dev/null
)
oom_rc=$?
set -e
if [ $oom_rc -eq 0 ]; then echo "OOM KILL COUNTED"; else echo "OOM KILL PHASE FAILED"; journalctl -u berth --no-pager -n 30 || true; fi

step "the DaemonSet is deleted: SIGTERM to the installer"
kill -TERM $pod
rc=0; wait $pod || rc=$?
cat /tmp/installer.log
[ $rc -eq 0 ] || die "the installer's undo exited $rc"
grep -q "berth-installer: done" /tmp/installer.log || die "no undo"

step "undone: kubelet back on its runtime, berth stopped, disabled, removed, its config gone"
cmp /tmp/kubelet-config.before "$KUBELET_CONFIG" || die "kubelet config not restored"
for _ in $(seq 1 30); do [ "$(grep -c . /run/kubelet-starts)" -ge 3 ] && break; sleep 1; done
sed -n 3p /run/kubelet-starts | grep -qx "containerRuntimeEndpoint: unix:///run/containerd/containerd.sock" \
  || die "kubelet was not restarted onto its old runtime: $(cat /run/kubelet-starts)"
! systemctl is-active berth.service >/dev/null || die "berth.service still active"
[ ! -e /lib/systemd/system/berth.service ] || die "the unit file is still there"
! dpkg -s berth 2>/dev/null | grep -qx 'Status: install ok installed' || die "package still installed"
[ ! -e /usr/bin/berth ] || die "/usr/bin/berth still there"
[ ! -e /etc/berth/config.yaml ] || die "the config written by the installer is still there"
[ ! -e /var/lib/berth-installer ] || die "the installer's state is still on the host"
[ ! -S "$BERTH_SOCKET" ] || ! cri version >/dev/null 2>&1 || die "something still answers on $BERTH_SOCKET"
echo "INSTALLER UNDONE"
