package dev.berth.runtime.spec;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.error.BerthException;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import runtime.v1.LinuxContainerSecurityContext;

/**
 * process.user: uid, gid and additional groups from run_as_user / run_as_username / run_as_group
 * and supplemental_groups, falling back to the image's User; names resolve through the image's
 * /etc/passwd and /etc/group.
 *
 * <p>The additional groups are the primary gid, then (SupplementalGroupsPolicy Merge, the default)
 * the groups the image's /etc/group lists the user in, then supplemental_groups. With Strict the
 * image's /etc/group adds nothing: only what the request names. They are the process's identity
 * that ContainerStatus.user reports.
 */
public final class UserSpec {
    private UserSpec() {}

    public record User(long uid, long gid, List<Long> additionalGids) {}

    static void apply(ObjectNode spec, SpecContext ctx) {
        User u = resolve(ctx.security(), ctx.image().config() == null ? null : ctx.image().config().user(),
                ctx.rootfs(), ctx.config().getMetadata().getName());
        write(spec, u);
    }

    static void write(ObjectNode spec, User u) {
        ObjectNode user = ((ObjectNode) spec.get("process")).putObject("user");
        user.put("uid", u.uid());
        user.put("gid", u.gid());
        ArrayNode extra = user.putArray("additionalGids");
        u.additionalGids().forEach(extra::add);
    }

    public static User resolve(LinuxContainerSecurityContext sc, String imageUser, Path rootfs, String container) {
        if (sc.hasRunAsGroup() && !sc.hasRunAsUser() && sc.getRunAsUsername().isEmpty()) {
            // as containerd and CRI-O: a group alone would pair with whatever user the image names
            throw BerthException.invalid("container %s: run_as_group is set without run_as_user or "
                    + "run_as_username", container);
        }
        String userPart = null;
        String groupPart = null;
        if (sc.hasRunAsUser()) {
            userPart = Long.toString(sc.getRunAsUser().getValue());
        } else if (!sc.getRunAsUsername().isEmpty()) {
            userPart = sc.getRunAsUsername();
        } else if (imageUser != null && !imageUser.isEmpty()) {
            int colon = imageUser.indexOf(':');
            userPart = colon < 0 ? imageUser : imageUser.substring(0, colon);
            groupPart = colon < 0 ? null : imageUser.substring(colon + 1);
        }
        long uid = 0;
        Long gid = null;
        String name = null;
        if (userPart != null && !userPart.isEmpty()) {
            Optional<String[]> pw = userPart.chars().allMatch(Character::isDigit)
                    ? passwdBy(rootfs, 2, userPart) : passwdBy(rootfs, 0, userPart);
            if (pw.isPresent()) {
                uid = Long.parseLong(pw.get()[2]);
                gid = Long.parseLong(pw.get()[3]);
                name = pw.get()[0];
            } else if (userPart.chars().allMatch(Character::isDigit)) {
                uid = Long.parseLong(userPart);
            } else {
                throw BerthException.invalid("container %s: user \"%s\" is not in the image's /etc/passwd",
                        container, userPart);
            }
        } else {
            name = passwdBy(rootfs, 2, "0").map(f -> f[0]).orElse(null);
        }
        if (sc.hasRunAsGroup()) {
            gid = sc.getRunAsGroup().getValue();
        } else if (groupPart != null && !groupPart.isEmpty()) {
            if (groupPart.chars().allMatch(Character::isDigit)) {
                gid = Long.parseLong(groupPart);
            } else {
                String g = groupPart;
                gid = groupByName(rootfs, g).orElseThrow(() -> BerthException.invalid(
                        "container %s: group \"%s\" is not in the image's /etc/group", container, g));
            }
        }
        if (uid < 0 || (gid != null && gid < 0)) {
            throw BerthException.invalid("container %s: uid and gid must not be negative", container);
        }
        long primary = gid == null ? 0 : gid;
        Set<Long> extra = new LinkedHashSet<>();
        extra.add(primary);
        boolean strict = switch (sc.getSupplementalGroupsPolicy()) {
            case Merge -> false;
            case Strict -> true;
            default -> throw BerthException.invalid("container %s: unknown supplemental_groups_policy %d",
                    container, sc.getSupplementalGroupsPolicyValue());
        };
        if (name != null && !strict) {
            extra.addAll(memberOf(rootfs, name));
        }
        for (long g : sc.getSupplementalGroupsList()) {
            if (g < 0) {
                throw BerthException.invalid("container %s: supplemental group %d is negative", container, g);
            }
            extra.add(g);
        }
        return new User(uid, primary, List.copyOf(extra));
    }

    private static Optional<String[]> passwdBy(Path rootfs, int field, String value) {
        return RootfsFiles.lines(rootfs, "etc/passwd").flatMap(lines -> lines.stream()
                .map(l -> l.split(":", -1))
                .filter(f -> f.length >= 4 && f[field].equals(value) && isNum(f[2]) && isNum(f[3]))
                .findFirst());
    }

    private static Optional<Long> groupByName(Path rootfs, String name) {
        return RootfsFiles.lines(rootfs, "etc/group").flatMap(lines -> lines.stream()
                .map(l -> l.split(":", -1))
                .filter(f -> f.length >= 3 && f[0].equals(name) && isNum(f[2]))
                .map(f -> Long.parseLong(f[2]))
                .findFirst());
    }

    private static List<Long> memberOf(Path rootfs, String user) {
        return RootfsFiles.lines(rootfs, "etc/group").map(lines -> lines.stream()
                .map(l -> l.split(":", -1))
                .filter(f -> f.length >= 4 && isNum(f[2]) && List.of(f[3].split(",")).contains(user))
                .map(f -> Long.parseLong(f[2]))
                .toList()).orElse(List.of());
    }

    private static boolean isNum(String s) {
        return !s.isEmpty() && s.length() < 11 && s.chars().allMatch(Character::isDigit);
    }
}
