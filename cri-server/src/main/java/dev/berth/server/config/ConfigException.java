package dev.berth.server.config;

import java.util.List;

/**
 * Configuration problems, each worded as one line naming the file, the key and what is wrong.
 * All problems of a file are collected, so one check lists every error.
 */
public final class ConfigException extends RuntimeException {
    private final List<String> problems;

    public ConfigException(String message) {
        this(List.of(message));
    }

    public ConfigException(List<String> problems) {
        super(String.join("\n", problems));
        this.problems = List.copyOf(problems);
    }

    /** One line per problem. */
    public List<String> problems() {
        return problems;
    }
}
