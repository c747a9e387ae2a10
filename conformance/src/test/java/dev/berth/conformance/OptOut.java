package dev.berth.conformance;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.util.Optional;

/**
 * The tests CI must run even though they need more than the JDK (the reference containerd, the
 * critest kit, the cgroup v2 VM): when what they need is missing they fail and say why, rather than
 * being skipped unnoticed. Only an explicit variable opts out; then they are skipped, saying so.
 */
public enum OptOut {
    CONTAINERD("BERTH_SKIP_CONTAINERD"),
    CRITEST("BERTH_SKIP_CRITEST"),
    VM("BERTH_SKIP_VM");

    private final String variable;

    OptOut(String variable) {
        this.variable = variable;
    }

    public String variable() {
        return variable;
    }

    /** Set to anything but empty or 0. */
    public boolean isSet() {
        String v = System.getenv(variable);
        return v != null && !v.isBlank() && !v.equals("0");
    }

    /** Skips the calling test when the variable is set. */
    public void skipIfSet() {
        assumeFalse(isSet(), variable + " is set");
    }

    /** Skips when opted out; otherwise fails with the reason when something is missing. */
    public void require(Optional<String> missing) {
        skipIfSet();
        missing.ifPresent(why -> fail(why + " (set " + variable + "=1 to run the tests without it)"));
    }

    /** The message for a failure the opt-out variable would have avoided. */
    public String hint() {
        return " (set " + variable + "=1 to run the tests without it)";
    }
}
