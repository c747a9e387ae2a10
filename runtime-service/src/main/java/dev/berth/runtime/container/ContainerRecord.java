package dev.berth.runtime.container;

import java.util.Base64;
import java.util.List;
import java.util.Map;
import runtime.v1.ContainerConfig;
import runtime.v1.LinuxContainerResources;

/**
 * A container's persistent metadata (StateStore kind "container"). The CRI config is kept as
 * protobuf bytes so status can report exactly what was asked; times are ns since the epoch.
 */
public record ContainerRecord(
        String id,
        String podId,
        String name,
        int attempt,
        String image,
        String imageId,
        String imageRef,
        Map<String, String> labels,
        Map<String, String> annotations,
        Phase phase,
        long createdAt,
        long startedAt,
        long finishedAt,
        int exitCode,
        String reason,
        String message,
        int pid,
        String handler,
        String cgroup,
        String logPath,
        String stopSignal,
        long uid,
        long gid,
        List<Long> additionalGids,
        String config,
        String resources) {

    public static final String KIND = "container";

    /** CREATING and REMOVING are berth's own: work under way when the daemon may have died. */
    public enum Phase { CREATING, CREATED, RUNNING, EXITED, REMOVING }

    public ContainerConfig configProto() {
        try {
            return ContainerConfig.parseFrom(Base64.getDecoder().decode(config));
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalStateException("stored container config of " + id + " is unreadable", e);
        }
    }

    public LinuxContainerResources resourcesProto() {
        try {
            return LinuxContainerResources.parseFrom(Base64.getDecoder().decode(resources));
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalStateException("stored resources of " + id + " are unreadable", e);
        }
    }

    static String encode(com.google.protobuf.Message m) {
        return Base64.getEncoder().encodeToString(m.toByteArray());
    }

    ContainerRecord withPhase(Phase p) {
        return new ContainerRecord(id, podId, name, attempt, image, imageId, imageRef, labels, annotations, p,
                createdAt, startedAt, finishedAt, exitCode, reason, message, pid, handler, cgroup, logPath,
                stopSignal, uid, gid, additionalGids, config, resources);
    }

    ContainerRecord created(int newPid) {
        return new ContainerRecord(id, podId, name, attempt, image, imageId, imageRef, labels, annotations,
                Phase.CREATED, createdAt, startedAt, finishedAt, exitCode, reason, message, newPid, handler, cgroup,
                logPath, stopSignal, uid, gid, additionalGids, config, resources);
    }

    ContainerRecord started(long at) {
        return new ContainerRecord(id, podId, name, attempt, image, imageId, imageRef, labels, annotations,
                Phase.RUNNING, createdAt, at, finishedAt, exitCode, reason, message, pid, handler, cgroup, logPath,
                stopSignal, uid, gid, additionalGids, config, resources);
    }

    ContainerRecord exited(long at, int code, String why, String msg) {
        return new ContainerRecord(id, podId, name, attempt, image, imageId, imageRef, labels, annotations,
                Phase.EXITED, createdAt, startedAt, at, code, why, msg, pid, handler, cgroup, logPath, stopSignal,
                uid, gid, additionalGids, config, resources);
    }

    ContainerRecord withResources(String newResources) {
        return new ContainerRecord(id, podId, name, attempt, image, imageId, imageRef, labels, annotations, phase,
                createdAt, startedAt, finishedAt, exitCode, reason, message, pid, handler, cgroup, logPath,
                stopSignal, uid, gid, additionalGids, config, newResources);
    }
}
