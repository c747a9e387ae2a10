#!/bin/sh
# Lays out what a node installs under target/root (the .deb's data, made by jdeb, and the tarball
# for nodes that are not Debian): the daemon, a Java runtime trimmed by jlink, the launcher, the
# unit, the commented config, a registries.conf sample, the man page, copyright and changelog.
#   build-tree.sh JAVA_HOME QUARKUS_APP_DIR VERSION TARGET_DIR
set -eu
jdk=$1 app=$2 version=$3 target=$4
src=$(cd "$(dirname "$0")" && pwd)
root=$target/root
runtime=$target/runtime
# The modules the daemon needs: what `jdeps -s --multi-release 25 --ignore-missing-deps` reports
# for each jar of quarkus-app (6 min on the build machine, so not run per build), less jdk.compiler
# (an optional path of a library), plus what is reached only by reflection or service loading:
# jdk.crypto.ec (TLS to registries), jdk.zipfs, jdk.naming.dns. Rebuilt only when this list or the
# JDK changes: jlink is the slow step. The runtime carries a default CDS archive (the JDK's own
# classes mapped, not parsed into metaspace; the daemon's dynamic archive builds on it, README
# "Memory"), dumped with the launcher's --enable-native-access so that the JVM uses its archived
# module graph too (otherwise it logs a mismatch at every start).
modules=java.base,java.compiler,java.desktop,java.logging,java.management,java.naming,java.net.http,java.sql,jdk.management,jdk.unsupported,jdk.crypto.ec,jdk.zipfs,jdk.naming.dns
stamp="$modules cds $(readlink -f "$jdk")"
if [ ! -f "$runtime/release" ] || [ "$(cat "$target/runtime.stamp" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$runtime"
    "$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages \
        --compress=zip-6 --output "$runtime"
    # jlink keeps the native symbols: strip them, as Debian ships binaries
    find "$runtime/bin" "$runtime/lib" -type f \( -perm -u+x -o -name '*.so' \) \
        -exec strip --strip-unneeded {} +
    "$runtime/bin/java" -Xshare:dump --enable-native-access=ALL-UNNAMED >/dev/null
    echo "$stamp" > "$target/runtime.stamp"
fi

rm -rf "$root"
lib=$root/usr/lib/berth
mkdir -p "$lib" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/berth" \
    "$root/usr/share/man/man8" "$root/usr/share/doc/berth/examples" "$root/usr/share/lintian/overrides"
cp -a "$runtime" "$lib/runtime"
cp -a "$app" "$lib/app"
install -m 0755 "$src/bin/berth" "$root/usr/bin/berth"
install -m 0644 "$src/systemd/berth.service" "$root/lib/systemd/system/berth.service"
install -m 0644 "$src/etc/registries.conf" "$root/usr/share/doc/berth/examples/registries.conf"
install -m 0644 "$src/lintian/berth" "$root/usr/share/lintian/overrides/berth"
install -m 0644 "$src/doc/copyright" "$root/usr/share/doc/berth/copyright"
gzip -9n < "$src/doc/changelog" > "$root/usr/share/doc/berth/changelog.gz"
gzip -9n < "$src/man/berth.8" > "$root/usr/share/man/man8/berth.8.gz"
# A daemon jar without the CLI would start serving instead of printing: refuse it.
"$jdk/bin/jar" tf "$app/app/cri-server-$version.jar" | grep -q '^dev/berth/server/cli/CommandLine.class$' \
    || { echo "build-tree: $app has no berth CLI (config default); rebuild cri-server" >&2; exit 1; }
# The conffile: the documented defaults, every key commented out so that upgrades of the defaults
# reach nodes that never changed them. Printed by the daemon itself, with the runtime just built.
timeout 120 "$runtime/bin/java" -jar "$app/quarkus-run.jar" config default \
    | sed -e 's/^\([a-z_][a-z_.]*:\)/# \1/' -e 's/^\(  *[a-z_][a-z_.]*:\)/#\1/' > "$root/etc/berth/config.yaml"
chmod 0644 "$root/etc/berth/config.yaml"
find "$root" -type d -exec chmod 0755 {} +
find "$lib/app" -type f -exec chmod 0644 {} +

tar --owner=0 --group=0 --numeric-owner --sort=name -C "$root" -czf "$target/berth-$version-linux-amd64.tar.gz" .
