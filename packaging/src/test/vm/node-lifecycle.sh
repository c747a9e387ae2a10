#!/bin/bash
# Run inside the cgroup v2 VM with systemd as PID 1 (../shared/vm/run-in-vm.sh --systemd): what an
# operator does with the package on a node. Install, start berth.service, pull from a registry and
# run a pod with a container through the CRI socket, restart and stop the unit (the container keeps
# running with the same pid and is reported), upgrade to a newer version (config edit and state
# kept), purge refused while a pod is left, purge after: unit, conffile and state gone, and no
# mount, netns, cgroup or process of berth's left.
#   node-lifecycle.sh DEB UPGRADE_DEB CRICTL
# Prints "NODE LIFECYCLE OK" at the end; any failed step exits non-zero with its reason.
set -euo pipefail
deb=$1 upgrade_deb=$2 crictl=$3
step() { echo "== $(date +%T) $*"; }
die() {
    echo "FAILED: $*" >&2
    systemctl status berth.service --no-pager -n 0 >&2 || true
    journalctl -u berth --no-pager -n 80 >&2 || true
    exit 1
}
# crictl finds berth through /etc/crictl.yaml, the README's example as written there
cat > /etc/crictl.yaml <<'YAML'
runtime-endpoint: unix:///run/berth/berth.sock
image-endpoint: unix:///run/berth/berth.sock
timeout: 10
YAML
cri() { "$crictl" --timeout 300s "$@"; }
# `systemctl is-active` exits non-zero for any state but active: compare what it prints instead
# (under pipefail, "is-active | grep -qx inactive" fails although the unit is inactive)
unit_state() { systemctl is-active berth.service || true; }
# after every (re)start: the first calls meet a cold JVM whose event loop stalls for seconds under
# emulation, and crictl gives up on the connection handshake (Unavailable); a few tries
cri_answers() {
    for _ in 1 2 3 4 5 6 7 8 9 10; do cri version 2>/dev/null | grep 'RuntimeName:.*berth' >/dev/null && return 0; sleep 5; done
    die "no CRI answer: $(cri version 2>&1)"
}
work=$(mktemp -d)   # the guest's /tmp is a fresh tmpfs
image=127.0.0.1:5055/vmtest/busybox:1

step "/var/lib on tmpfs: berth's overlay upper directories cannot live on the guest's root overlay"
# a tmpfs over /var/lib with the node's own entries bound back in (dpkg's database stays where it
# is); man-db's is left out, so dpkg's man-db trigger does not rebuild the index (minutes here)
mkdir -p /run/varlib-node
mount --bind /var/lib /run/varlib-node
mount -t tmpfs -o mode=0755 varlib /var/lib
for e in /run/varlib-node/* /run/varlib-node/.[!.]*; do
    [ -e "$e" ] || continue
    n=${e##*/}
    case $n in berth|man-db) mkdir -p "/var/lib/$n"; continue ;; esac
    if [ -d "$e" ]; then mkdir "/var/lib/$n"; else touch "/var/lib/$n"; fi
    mount --bind "$e" "/var/lib/$n"
done
# a node under software emulation starts the JVM slowly: more than the unit's 120 s may pass
mkdir -p /etc/systemd/system/berth.service.d
printf '[Service]\nTimeoutStartSec=900\n' > /etc/systemd/system/berth.service.d/slow-node.conf

step "a registry on the guest's loopback, on a fresh directory, with a busybox-static image pushed into it"
cat > "$work/registry.yml" <<YML
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/registry}}
http: {addr: 127.0.0.1:5055}
YML
setsid /usr/bin/docker-registry serve "$work/registry.yml" > "$work/registry.log" 2>&1 < /dev/null &
# the image: one layer holding the static busybox, as an OCI layout, pushed with skopeo
mkdir -p "$work/rootfs/bin" "$work/oci/blobs/sha256"
cp /bin/busybox "$work/rootfs/bin/busybox"
for a in sh sleep cat; do ln -s busybox "$work/rootfs/bin/$a"; done
tar -C "$work/rootfs" --numeric-owner --owner=0 --group=0 --sort=name -cf "$work/layer.tar" .
diff_id=$(sha256sum < "$work/layer.tar" | cut -d' ' -f1)
gzip -n -1 < "$work/layer.tar" > "$work/layer.tar.gz"
blob() { local d; d=$(sha256sum < "$1" | cut -d' ' -f1); cp "$1" "$work/oci/blobs/sha256/$d"; echo "$d $(stat -c %s "$1")"; }
read -r layer_digest layer_size < <(blob "$work/layer.tar.gz")
printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"],"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$diff_id" > "$work/config.json"
read -r config_digest config_size < <(blob "$work/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
    "$config_digest" "$config_size" "$layer_digest" "$layer_size" > "$work/manifest.json"
read -r manifest_digest manifest_size < <(blob "$work/manifest.json")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"1"}}]}' \
    "$manifest_digest" "$manifest_size" > "$work/oci/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' > "$work/oci/oci-layout"
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:5055/v2/ >/dev/null && break; sleep 0.2; done
curl -sf http://127.0.0.1:5055/v2/ >/dev/null || die "registry did not start: $(cat "$work/registry.log")"
skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$work/oci:1" "docker://$image" \
    || die "push failed: $(cat "$work/registry.log")"

# A second registry as companies run them: TLS with a private CA, a client certificate required,
# on a non-loopback address (a dummy interface) so that HTTPS_PROXY applies, reached through a
# CONNECT proxy. Set up here, configured the operator's way (certs.d, /etc/default/berth) below.
tls_image=10.99.0.1:5443/vmtest/busybox:1
tls_setup() {
    local t=$work/tls
    mkdir -p "$t" || return 1
    ip link add berthreg0 type dummy && ip addr add 10.99.0.1/32 dev berthreg0 && ip link set berthreg0 up || return 1
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=vmtest-ca -keyout "$t/ca.key" -out "$t/ca.crt" 2>/dev/null || return 1
    openssl req -newkey rsa:2048 -nodes -subj /CN=10.99.0.1 -keyout "$t/server.key" -out "$t/server.csr" 2>/dev/null || return 1
    printf 'subjectAltName=IP:10.99.0.1\n' > "$t/server.ext"
    openssl x509 -req -in "$t/server.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" -CAcreateserial -days 2 \
        -extfile "$t/server.ext" -out "$t/server.crt" 2>/dev/null || return 1
    openssl req -newkey rsa:2048 -nodes -subj /CN=vmtest-node -keyout "$t/client.key" -out "$t/client.csr" 2>/dev/null || return 1
    printf 'extendedKeyUsage=clientAuth\n' > "$t/client.ext"
    openssl x509 -req -in "$t/client.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" -CAcreateserial -days 2 \
        -extfile "$t/client.ext" -out "$t/client.cert" 2>/dev/null || return 1
    cat > "$work/registry-tls.yml" <<YML
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/registry}}
http: {addr: 10.99.0.1:5443, tls: {certificate: $t/server.crt, key: $t/server.key, clientcas: [$t/ca.crt]}}
YML
    setsid /usr/bin/docker-registry serve "$work/registry-tls.yml" > "$work/registry-tls.log" 2>&1 < /dev/null &
    setsid python3 "$(dirname "$0")/connect-proxy.py" 3128 "$work/proxy.log" > "$work/proxy.out" 2>&1 < /dev/null &
    touch "$work/proxy.log"
    for _ in $(seq 1 100); do
        curl -sf --cacert "$t/ca.crt" --cert "$t/client.cert" --key "$t/client.key" https://10.99.0.1:5443/v2/ >/dev/null && break
        sleep 0.3
    done
    curl -sf --cacert "$t/ca.crt" --cert "$t/client.cert" --key "$t/client.key" https://10.99.0.1:5443/v2/ >/dev/null \
        || { echo "TLS registry did not start: $(cat "$work/registry-tls.log")"; return 1; }
    # without a client certificate the registry refuses: the one berth is given is what gets it in
    if curl -sf --cacert "$t/ca.crt" https://10.99.0.1:5443/v2/ >/dev/null 2>&1; then
        echo "the TLS registry did not require a client certificate"; return 1
    fi
}
tls_ok=1
tls_setup || { tls_ok=0; echo "REGISTRY PROXY TLS FAILED: setup"; }

# what the node has before berth: after the purge exactly this is left
snapshot() {
    findmnt -rn -o TARGET | sort > "$work/$1.mounts"
    find /sys/fs/cgroup -mindepth 1 -type d | grep -Ev '^/sys/fs/cgroup/(system\.slice|user\.slice|init\.scope|run-in-vm\.scope)(/|$)' \
        | sort > "$work/$1.cgroups" || true
    { ip netns list 2>/dev/null || true; } | sort > "$work/$1.netns"
    ps -eo pid=,comm= | awk '$2 ~ /^(conmon|runc|crun|sleep|java)$/ {print $1}' | sort > "$work/$1.procs"
}
snapshot before

step "dpkg -i"
dpkg -i "$deb"
dpkg -s berth | grep '^Status: install ok installed' >/dev/null || die "not installed"
[ "$(systemctl is-enabled berth.service || true)" = enabled ] || die "postinst did not enable the unit"
echo "# an operator's edit" >> /etc/berth/config.yaml
# the operator's own file (not the package's): purge leaves it, as Debian policy says
cat > /etc/berth/registries.conf <<'CONF'
[[registry]]
location = "127.0.0.1:5055"
insecure = true
CONF

if [ "$tls_ok" = 1 ]; then
    mkdir -p /etc/berth/certs.d/10.99.0.1:5443
    cp "$work/tls/ca.crt" "$work/tls/client.cert" "$work/tls/client.key" /etc/berth/certs.d/10.99.0.1:5443/
    echo "HTTPS_PROXY=http://127.0.0.1:3128" > /etc/default/berth
fi

step "systemctl start berth (Type=notify: returns once the CRI socket serves)"
systemctl start berth.service
[ "$(unit_state)" = active ] || die "berth.service not active"
cri_answers

step "pull from the loopback registry, a pod with a container"
cri pull "$image" || die "pull failed; registry log: $(tail -5 "$work/registry.log")"
cat > "$work/pod.json" <<'JSON'
{"metadata": {"name": "vm-pod", "namespace": "default", "uid": "vm-pod-uid", "attempt": 0},
 "log_directory": "/tmp/vm-pod-logs", "linux": {}}
JSON
cat > "$work/ctr.json" <<JSON
{"metadata": {"name": "sleeper"}, "image": {"image": "$image"},
 "command": ["sleep", "3600"], "log_path": "sleeper.log", "linux": {}}
JSON
pod=$(cri runp "$work/pod.json") || die "RunPodSandbox failed"
ctr=$(cri create "$pod" "$work/ctr.json" "$work/pod.json") || die "CreateContainer failed"
cri start "$ctr" || die "StartContainer failed"
running() { cri ps -q --state running | grep -x "$ctr" >/dev/null; }
running || die "container not running after start"
ctr_pid() { cri inspect "$ctr" | sed -n 's/^ *"pid": \([0-9]*\),*$/\1/p' | head -1; }
sleeper=$(ctr_pid)
[ -n "$sleeper" ] && [ "$(cat /proc/"$sleeper"/comm)" = sleep ] || die "no container process (pid '$sleeper')"
monitors=$(pgrep -x conmon | tr '\n' ' ')
[ -n "$monitors" ] || die "no conmon"
daemon=$(systemctl show -p MainPID --value berth)
echo "container process $sleeper, conmons $monitors, daemon $daemon"
daemon_cg=$(cut -d: -f3 < /proc/"$daemon"/cgroup)
echo "daemon cgroup $daemon_cg; container $(cut -d: -f3 < /proc/"$sleeper"/cgroup)"
for p in $monitors $sleeper; do
    case "$(cut -d: -f3 < /proc/"$p"/cgroup)" in
    "$daemon_cg"|"$daemon_cg"/*) die "process $p ($(cat /proc/"$p"/comm)) lives in the daemon's cgroup $daemon_cg" ;;
    esac
done
pod_cgroups=$(for p in $monitors $sleeper; do cut -d: -f3 < /proc/"$p"/cgroup; done | sort -u | grep -v '^/$' || true)
echo "pod cgroups: $pod_cgroups"
[ -n "$(ls -A /run/berth/pods)" ] || die "no live pod under /run/berth/pods"
alive() { for p in $sleeper $monitors; do kill -0 "$p" || return 1; done; }

step "pull from the TLS registry (private CA, client certificate) through the HTTPS proxy"
if [ "$tls_ok" = 1 ]; then
    if ! cri pull "$tls_image"; then
        echo "REGISTRY PROXY TLS FAILED: pull; registry: $(tail -3 "$work/registry-tls.log"); proxy: $(cat "$work/proxy.log")"
    elif ! grep -qx "CONNECT 10.99.0.1:5443" "$work/proxy.log"; then
        echo "REGISTRY PROXY TLS FAILED: the pull did not go through the proxy: $(cat "$work/proxy.log")"
    elif grep -q "127.0.0.1" "$work/proxy.log"; then
        echo "REGISTRY PROXY TLS FAILED: loopback went through the proxy: $(cat "$work/proxy.log")"
    elif ! cri images | grep '^10.99.0.1:5443/vmtest/busybox ' >/dev/null; then
        echo "REGISTRY PROXY TLS FAILED: the image is not listed: $(cri images)"
    else
        echo "REGISTRY PROXY TLS OK"
    fi
fi

step "systemctl restart berth: the container keeps running (same pid) and is reported"
systemctl restart berth.service
[ "$(unit_state)" = active ] || die "not active after restart"
cri_answers
[ "$(systemctl show -p MainPID --value berth)" != "$daemon" ] || die "the daemon did not restart"
alive || die "the restart killed the container or its conmon"
running || die "the restarted daemon does not report the container running"
[ "$(ctr_pid)" = "$sleeper" ] || die "the restarted daemon reports pid $(ctr_pid), not $sleeper"
cri inspectp "$pod" | grep '"state": "SANDBOX_READY"' >/dev/null || die "pod not ready after restart"

step "systemctl stop berth: the container keeps running"
systemctl stop berth.service
[ "$(unit_state)" = inactive ] || die "not inactive after stop"
alive || die "stopping the daemon killed the container or its conmon"

step "upgrade to a newer version (dpkg -i): the config edit and the state stay"
old_version=$(dpkg-query -W -f='${Version}' berth)
dpkg -i "$upgrade_deb"
new_version=$(dpkg-query -W -f='${Version}' berth)
[ "$new_version" != "$old_version" ] || die "the upgrade kept version $old_version"
dpkg --compare-versions "$new_version" gt "$old_version" || die "$new_version is not newer than $old_version"
grep -qx "# an operator's edit" /etc/berth/config.yaml || die "the upgrade replaced the edited conffile"
systemctl start berth.service
cri_answers
alive || die "the upgrade killed the container"
running || die "after the upgrade the container is not reported"
[ "$(ctr_pid)" = "$sleeper" ] || die "after the upgrade berth reports pid $(ctr_pid), not $sleeper"
cri images -q | grep . >/dev/null || die "the upgrade lost the pulled image"

step "purge refused while a pod is left (the package's postrm, as dpkg --purge runs it)"
if /var/lib/dpkg/info/berth.postrm purge > "$work/purge.out" 2>&1; then die "postrm purge went ahead with a pod left"; fi
cat "$work/purge.out"
grep -q "before purging" "$work/purge.out" || die "no reason given: $(cat "$work/purge.out")"
[ -d /var/lib/berth/state ] || die "postrm purge removed the state of a live pod"
alive || die "postrm purge killed the container"
# the other half of postrm's check, for a node whose /run is gone (rebooted): the recorded pod
recorded=$(sqlite3 /var/lib/berth/state/berth.db "SELECT count(*) FROM records WHERE kind='sandbox'")
[ "$recorded" = 1 ] || die "postrm's query finds $recorded recorded pods, not 1"

step "remove the pod, dpkg --purge"
cri stopp "$pod" && cri rmp "$pod" || die "removing the pod failed"
for _ in $(seq 1 50); do kill -0 "$sleeper" 2>/dev/null || break; sleep 0.1; done
kill -0 "$sleeper" 2>/dev/null && die "the container process $sleeper outlived its pod"
# the pod had no cgroup_parent: berth made /berth/pods/pod-<id> and removes its default parents
# with its last pod (postrm only sweeps up after a daemon killed in between)
[ ! -e /sys/fs/cgroup/berth ] || die "removing the last pod left $(find /sys/fs/cgroup/berth -type d | tr '\n' ' ')"
# every CRI connection once logged netty's "Unknown channel option 'SO_KEEPALIVE'" (a unix socket)
noise=$(journalctl -u berth --no-pager | grep -c 'Unknown channel option' || true)
[ "$noise" = 0 ] || die "the journal has $noise lines of \"Unknown channel option\""
rm -r /etc/systemd/system/berth.service.d   # the test's own drop-in
systemctl daemon-reload
dpkg --purge berth
[ "$(unit_state)" = inactive ] || die "prerm did not stop the daemon"
[ ! -e /lib/systemd/system/berth.service ] || die "purge left the unit file"
systemctl cat berth.service >/dev/null 2>&1 && die "systemd still knows berth.service"
[ ! -e /etc/berth/config.yaml ] || die "purge left the conffile"
[ ! -e /var/lib/berth ] || die "purge left /var/lib/berth"
[ ! -e /var/cache/berth ] || die "purge left the class archive (/var/cache/berth)"
dpkg -s berth >/dev/null 2>&1 && die "dpkg still knows berth"

step "nothing of berth's left: mounts, netns, cgroups, processes"
snapshot after
for what in mounts netns cgroups procs; do
    left=$(comm -13 "$work/before.$what" "$work/after.$what")
    [ -z "$left" ] || die "$what left after the purge: $left"
done
for cg in $pod_cgroups; do
    [ ! -d "/sys/fs/cgroup$cg" ] || die "cgroup $cg of the pod is left"
done
echo "NODE LIFECYCLE OK"
