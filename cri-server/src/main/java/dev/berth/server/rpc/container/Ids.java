package dev.berth.server.rpc.container;

import dev.berth.core.error.BerthException;

/** Container ids in requests. */
final class Ids {
    private Ids() {}

    static String required(String id) {
        if (id == null || id.isEmpty()) {
            throw BerthException.invalid("container_id is empty");
        }
        if (!id.matches("[0-9a-f]{1,64}")) {
            throw BerthException.notFound("container %s does not exist (ids are lowercase hex)", id);
        }
        return id;
    }
}
