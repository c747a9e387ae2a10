package dev.berth.core.error;

/**
 * The small set of failure kinds domain code may raise. cri-server maps each one to a gRPC status
 * code in exactly one place; nothing below cri-server knows about gRPC.
 */
public enum ErrorKind {
    /** The caller sent something malformed or contradictory. */
    INVALID_ARGUMENT,
    /** The named pod, container or image does not exist. */
    NOT_FOUND,
    /** A name or id is taken (for example a pod name + attempt reused). */
    ALREADY_EXISTS,
    /** The request is valid but the object or host is not in a state that allows it. */
    FAILED_PRECONDITION,
    /** Credentials were missing or rejected by a registry. */
    UNAUTHENTICATED,
    /** Access was refused (a blocked registry, a forbidden path). */
    PERMISSION_DENIED,
    /** A remote party (registry, CNI plugin) could not be reached. */
    UNAVAILABLE,
    /** A timeout ran out. */
    DEADLINE_EXCEEDED,
    /** A bound (size, count) was exceeded. */
    RESOURCE_EXHAUSTED,
    /** The feature is not built. */
    UNIMPLEMENTED,
    /** A bug or an unexpected host failure. */
    INTERNAL
}
