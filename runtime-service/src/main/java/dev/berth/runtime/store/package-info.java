/**
 * State apart from lifecycle (containerd's internal/cri/store, CRI-O's resourcestore): the parts
 * the pod and container stores are made of. {@link dev.berth.runtime.store.RecordTable} holds
 * immutable snapshots that reads use without locking and that writers replace by committing to the
 * StateStore first; {@link dev.berth.runtime.store.IdLocks} gives per-id locks that vanish when no
 * one holds them; {@link dev.berth.runtime.store.Reservations} keeps names unique. The typed stores
 * live beside their records: {@code container.ContainerStore}, {@code sandbox.SandboxStore}.
 */
package dev.berth.runtime.store;
