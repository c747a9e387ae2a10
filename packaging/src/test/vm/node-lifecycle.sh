#!/bin/bash
# Run inside the cgroup v2 VM with systemd as PID 1 (../shared/vm/run-in-vm.sh --systemd --host-tmp):
# what an operator does with the package on a node. Install, start berth.service, run a pod with a
# container through the CRI socket, restart and stop the unit (the container keeps running and is
# reported), upgrade (config edit and state kept), purge refused while a pod is left, purge after.
#   node-lifecycle.sh DEB CRICTL REGISTRY_DATA
# Prints "NODE LIFECYCLE OK" at the end; any failed step exits non-zero with its reason.
set -euo pipefail
deb=$1 crictl=$2 registry_data=$3
step() { echo "== $*"; }
die() { echo "FAILED: $*" >&2; journalctl -u berth --no-pager -n 60 >&2 || true; exit 1; }
export CONTAINER_RUNTIME_ENDPOINT=unix:///run/berth/berth.sock IMAGE_SERVICE_ENDPOINT=unix:///run/berth/berth.sock
cri() { "$crictl" --timeout 60s "$@"; }
work=$(mktemp -d)

step "a registry on the guest's loopback, from the critest kit's data (the VM has no network)"
cat > "$work/registry.yml" <<YML
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $registry_data}}
http: {addr: 127.0.0.1:5055}
YML
setsid /usr/bin/docker-registry serve "$work/registry.yml" > "$work/registry.log" 2>&1 < /dev/null &
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:5055/v2/ >/dev/null && break; sleep 0.2; done
curl -sf http://127.0.0.1:5055/v2/ >/dev/null || die "registry did not start: $(cat "$work/registry.log")"

step "dpkg -i"
dpkg -i "$deb"
dpkg -s berth | grep -q '^Status: install ok installed' || die "not installed"
systemctl is-enabled berth.service | grep -qx enabled || die "postinst did not enable the unit"
echo "# an operator's edit" >> /etc/berth/config.yaml
cat > /etc/berth/registries.conf <<'CONF'
[[registry]]
location = "127.0.0.1:5055"
insecure = true
CONF

step "systemctl start berth (Type=notify: returns once the CRI socket serves)"
systemctl start berth.service
systemctl is-active berth.service | grep -qx active || die "berth.service not active"
cri version | grep -q 'RuntimeName:.*berth' || die "no CRI answer: $(cri version 2>&1)"

step "a pod with a container"
cri pull 127.0.0.1:5055/docker/library/busybox:1
cat > "$work/pod.json" <<'JSON'
{"metadata": {"name": "vm-pod", "namespace": "default", "uid": "vm-pod-uid", "attempt": 0},
 "log_directory": "/tmp/vm-pod-logs", "linux": {}}
JSON
cat > "$work/ctr.json" <<'JSON'
{"metadata": {"name": "sleeper"}, "image": {"image": "127.0.0.1:5055/docker/library/busybox:1"},
 "command": ["sleep", "3600"], "log_path": "sleeper.log", "linux": {}}
JSON
pod=$(cri runp "$work/pod.json")
ctr=$(cri create "$pod" "$work/ctr.json" "$work/pod.json")
cri start "$ctr"
running() { cri ps -q --state running | grep -qx "$ctr"; }
running || die "container not running after start"
sleeper=$(pgrep -x sleep) || die "no container process"
monitor=$(pgrep -x conmon) || die "no conmon"
echo "container process $sleeper, conmon $monitor, daemon $(systemctl show -p MainPID --value berth)"
[ -n "$(ls -A /run/berth/pods)" ] || die "no live pod under /run/berth/pods"

step "systemctl restart berth: the container keeps running and is reported"
systemctl restart berth.service
systemctl is-active berth.service | grep -qx active || die "not active after restart"
kill -0 "$sleeper" && kill -0 "$monitor" || die "the restart killed the container or its conmon"
running || die "the restarted daemon does not report the container running"
cri inspectp "$pod" | grep -q '"state": "SANDBOX_READY"' || die "pod not ready after restart"

step "systemctl stop berth: the container keeps running"
systemctl stop berth.service
systemctl is-active berth.service | grep -qx inactive || die "not inactive after stop"
kill -0 "$sleeper" && kill -0 "$monitor" || die "stopping the daemon killed the container or its conmon"

step "upgrade (dpkg -i again): the config edit and the state stay"
dpkg -i "$deb"
grep -qx "# an operator's edit" /etc/berth/config.yaml || die "the upgrade replaced the edited conffile"
systemctl start berth.service
running || die "after the upgrade the container is not reported"

step "purge refused while a pod is left"
dpkg -r berth
systemctl is-active berth.service | grep -qx inactive || die "prerm did not stop the daemon"
if dpkg --purge berth > "$work/purge.out" 2>&1; then die "purge went ahead with a pod left"; fi
grep -q "before purging" "$work/purge.out" || die "no reason given: $(cat "$work/purge.out")"
[ -d /var/lib/berth ] || die "purge removed the state of a live pod"
kill -0 "$sleeper" || die "remove killed the container"

step "reinstall, remove the pod, purge"
dpkg -i "$deb"
systemctl start berth.service
running || die "after the reinstall the container is not reported"
cri stopp "$pod" && cri rmp "$pod"
systemctl stop berth.service
dpkg --purge berth
[ ! -e /var/lib/berth ] || die "purge left /var/lib/berth"
[ ! -e /etc/berth/config.yaml ] || die "purge left the conffile"
echo "NODE LIFECYCLE OK"
