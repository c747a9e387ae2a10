package dev.berth.image.registry.transport;

import java.io.InputStream;
import java.net.http.HttpHeaders;

/**
 * A response whose headers have arrived: its status, headers and body still to read. {@code abort}
 * drops the connection, unblocking a read in progress on another thread; closing the body instead
 * lets a fully read connection be reused.
 */
public record HttpExchange(int status, HttpHeaders headers, InputStream body, Runnable abort) {}
