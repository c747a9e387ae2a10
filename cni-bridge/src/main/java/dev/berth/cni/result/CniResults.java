package dev.berth.cni.result;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** Reading what pods need out of a CNI result (spec versions 0.3.0 to 1.1.0 share the "ips" shape). */
public final class CniResults {
    private CniResults() {}

    /** The pod's addresses without prefix length, in result order (first is the primary pod IP). */
    public static List<String> podIps(JsonNode result) {
        List<String> out = new ArrayList<>();
        if (result == null) {
            return out;
        }
        JsonNode interfaces = result.path("interfaces");
        for (JsonNode ip : result.path("ips")) {
            String address = ip.path("address").asText("");
            if (address.isEmpty()) {
                continue;
            }
            // Only addresses on an interface inside the sandbox (or with no interface index) are the pod's.
            if (ip.has("interface") && interfaces.isArray()) {
                JsonNode itf = interfaces.path(ip.get("interface").asInt());
                if (!itf.isMissingNode() && itf.path("sandbox").asText("").isEmpty()) {
                    continue;
                }
            }
            int slash = address.indexOf('/');
            String addr = slash < 0 ? address : address.substring(0, slash);
            if (addr.startsWith("127.") || addr.equals("::1")) {
                continue; // a loopback plugin's answer, not the pod's address
            }
            out.add(addr);
        }
        return out;
    }
}
