package dev.berth.image.registry.transport;

import java.io.InputStream;
import java.net.http.HttpHeaders;

/**
 * A response whose headers have arrived: its status, headers and body still to read. {@code abort}
 * drops the connection instead of keeping it for reuse (a body left unread); it does not unblock a
 * read in progress, which ends at the socket's read timeout or when its thread is interrupted.
 */
public record HttpExchange(int status, HttpHeaders headers, InputStream body, Runnable abort) {}
