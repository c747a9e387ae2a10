package dev.berth.server.rpc.container;

import dev.berth.core.error.BerthException;

/** Container ids in requests. */
final class Ids {
    private Ids() {}

    /**
     * For stop and remove: any non-empty id goes on, since an unknown one (whatever it looks
     * like) is simply already stopped or removed.
     */
    static String present(String id) {
        if (id == null || id.isEmpty()) {
            throw BerthException.invalid("container_id is empty");
        }
        return id;
    }

    /** For the other calls: an id that cannot be berth's is NOT_FOUND without a look-up. */
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
