package dev.berth.runtime.store;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Names that must be unique among live records (a pod's name_namespace_uid_attempt, a container's
 * pod/name/attempt), each reserved for one id from before its record is made until it is deleted.
 */
public final class Reservations {
    private final ConcurrentHashMap<String, String> byName = new ConcurrentHashMap<>();

    /** Reserves {@code name} for {@code id}; returns the id already holding it, or null when reserved. */
    public String reserve(String name, String id) {
        String taken = byName.putIfAbsent(name, id);
        return taken == null || taken.equals(id) ? null : taken;
    }

    /** Releases {@code name} if {@code id} holds it. */
    public void release(String name, String id) {
        byName.remove(name, id);
    }

    public int size() {
        return byName.size();
    }
}
