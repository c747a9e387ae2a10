package dev.berth.image.unpack;

import java.io.IOException;

/** The bytes of a layer are not a well-formed tar archive (truncated, bad checksum, bad records). */
public final class MalformedTarException extends IOException {
    MalformedTarException(String message) {
        super(message);
    }
}
