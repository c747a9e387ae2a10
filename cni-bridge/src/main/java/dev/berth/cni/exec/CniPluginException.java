package dev.berth.cni.exec;

import dev.berth.core.error.BerthException;
import dev.berth.core.error.ErrorKind;

/** A plugin's error result ({"code", "msg", "details"}), with the plugin and command named. */
public final class CniPluginException extends BerthException {
    private final int code;

    public CniPluginException(String plugin, String command, int code, String msg, String details) {
        super(ErrorKind.UNAVAILABLE, "CNI plugin " + plugin + " " + command + " failed (code " + code + "): " + msg
                + (details == null || details.isBlank() ? "" : " (" + details + ")"));
        this.code = code;
    }

    public int code() {
        return code;
    }
}
