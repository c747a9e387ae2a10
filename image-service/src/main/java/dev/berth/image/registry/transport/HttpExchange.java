package dev.berth.image.registry.transport;

import java.io.InputStream;
import java.net.http.HttpHeaders;
import java.time.Duration;

/**
 * A response whose headers have arrived: its status, headers and body still to read. {@code abort}
 * drops the connection instead of keeping it for reuse (a body left unread); it does not unblock a
 * read in progress, which ends at the socket's read timeout or when its thread is interrupted.
 * {@code stallTimeout} is that read timeout, as {@link RegistryHttp#send} set it: carried here so
 * that whoever reports a stalled body names the value that was applied, not a copy of it.
 */
public record HttpExchange(int status, HttpHeaders headers, InputStream body, Runnable abort, Duration stallTimeout) {}
