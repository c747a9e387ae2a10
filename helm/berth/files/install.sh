#!/bin/sh
# berth installer, run in a privileged pod with the host's root at /host and the host's PID
# namespace. Installs the berth package on the host, writes /etc/berth/config.yaml, enables
# berth.service, optionally points kubelet at berth; on SIGTERM (the DaemonSet is deleted) undoes
# what it did. Settings come from the environment (see the installer DaemonSet).
set -eu

HOST=/host
STATE=/var/lib/berth-installer          # on the host: the package copy and what to undo
on_host() { nsenter --target 1 --mount --uts --ipc --net --pid -- "$@"; }
log() { echo "berth-installer: $*"; }

install_berth() {
  mkdir -p "$HOST$STATE"
  cp "$BERTH_PACKAGE" "$HOST$STATE/berth.deb"
  mkdir -p "$HOST/etc/berth"
  if [ -f "$HOST/etc/berth/config.yaml" ] && [ ! -f "$HOST$STATE/config.yaml.orig" ]; then
    cp "$HOST/etc/berth/config.yaml" "$HOST$STATE/config.yaml.orig"
  fi
  on_host env DEBIAN_FRONTEND=noninteractive apt-get install -y -o Dpkg::Options::=--force-confold \
    "$STATE/berth.deb"
  cp /config/config.yaml "$HOST/etc/berth/config.yaml"
  on_host systemctl daemon-reload
  on_host systemctl enable berth.service
  on_host systemctl restart berth.service
  log "berth installed and started"
  if [ "$SWITCH_KUBELET" = "true" ]; then switch_kubelet; fi
}

# Sets containerRuntimeEndpoint in the KubeletConfiguration (keeping the original) and restarts
# kubelet through systemd-run on the host, so the restart finishes even though this pod, running
# under the previous runtime, goes away with it.
switch_kubelet() {
  conf="$HOST$KUBELET_CONFIG"
  endpoint="unix://$BERTH_SOCKET"
  if grep -q "^containerRuntimeEndpoint: $endpoint\$" "$conf"; then
    log "kubelet already uses berth"; return
  fi
  [ -f "$HOST$STATE/kubelet-config.orig" ] || cp "$conf" "$HOST$STATE/kubelet-config.orig"
  if grep -q '^containerRuntimeEndpoint:' "$conf"; then
    sed -i "s|^containerRuntimeEndpoint:.*|containerRuntimeEndpoint: $endpoint|" "$conf"
  else
    echo "containerRuntimeEndpoint: $endpoint" >> "$conf"
  fi
  # An image endpoint of the old runtime would keep kubelet pulling there.
  sed -i "s|^imageServiceEndpoint:.*|imageServiceEndpoint: $endpoint|" "$conf"
  on_host systemd-run --unit=berth-installer-kubelet --collect systemctl restart kubelet.service
  log "kubelet now uses $endpoint"
}

uninstall_berth() {
  kill "${sleeper:-}" 2>/dev/null || true
  log "removing berth from this node"
  if [ -f "$HOST$STATE/kubelet-config.orig" ]; then
    cp "$HOST$STATE/kubelet-config.orig" "$HOST$KUBELET_CONFIG"
    rm -f "$HOST$STATE/kubelet-config.orig"
    on_host systemd-run --unit=berth-installer-kubelet-undo --collect systemctl restart kubelet.service || true
  fi
  if [ "$REMOVE_ON_UNINSTALL" = "true" ]; then
    on_host systemctl disable --now berth.service || true
    on_host env DEBIAN_FRONTEND=noninteractive apt-get remove -y berth || true
    # remove keeps conffiles: put back the node's own config, or drop the one written here
    if [ -f "$HOST$STATE/config.yaml.orig" ]; then
      cp "$HOST$STATE/config.yaml.orig" "$HOST/etc/berth/config.yaml"
    else
      rm -f "$HOST/etc/berth/config.yaml"
    fi
  fi
  rm -rf "${HOST:?}$STATE"
  log "done"
  exit 0
}

trap uninstall_berth TERM INT
install_berth
# Wait for the DaemonSet's deletion (SIGTERM); sleep in the background so the trap runs at once.
while true; do sleep 3600 & sleeper=$!; wait $sleeper; done
