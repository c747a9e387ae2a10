/**
 * A recording fake of {@link dev.berth.linux.host.LinuxHost} for other modules' unit tests: every
 * call is recorded with its arguments, any call can be told to fail with an errno, and a small
 * in-memory model (mounts, pinned namespaces, processes, cgroup directories, links) shows what a
 * sequence of calls left behind, so leaks after a rollback or a teardown can be asserted without
 * root. It lives in src/main so every module's tests can use it; production code never does.
 */
package dev.berth.linux.testing;
