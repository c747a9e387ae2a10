package dev.berth.server.config;

/** A configuration problem, worded as one line naming the file, the key and what is wrong. */
public final class ConfigException extends RuntimeException {
    public ConfigException(String message) {
        super(message);
    }
}
