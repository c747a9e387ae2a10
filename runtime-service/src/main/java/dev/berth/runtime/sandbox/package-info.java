/**
 * Pod sandboxes: {@link dev.berth.runtime.sandbox.SandboxManager} runs, stops, removes, lists and
 * recovers them and is the container side's {@link dev.berth.runtime.sandbox.SandboxLookup}.
 * One class per concern: {@code NamespacePinner} (net/ipc/uts namespaces pinned by bind mounts),
 * {@code UserNamespacePinner} (the same inside the pod's own user namespace, userns mode POD),
 * {@code InfraProcess} (PID namespace init), {@code PodFiles} (hosts, resolv.conf, hostname),
 * {@code PodSysctls}, {@code PodCgroup} (the pod's cgroup v2 directory), {@code SandboxRecord}
 * (the persisted state), {@code SandboxStore} (records, name reservations, per-pod locks and the
 * pending journal, apart from the lifecycle) and {@code Failpoints} (crash injection for restart
 * tests).
 *
 * <p>Per pod under the run dir: {@code pods/<id>/ns/{net,ipc,uts,user}} (bind mounts of nsfs),
 * {@code pods/<id>/shm} (tmpfs), {@code hosts}, {@code resolv.conf}, {@code hostname} and
 * {@code pending.json} (the record before it is committed to the StateStore).
 */
package dev.berth.runtime.sandbox;
