package dev.berth.agent;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Image pull failures: CRI has no event for them, so the agent reads berth's
 * {@code berth_image_pulls_total} by result and posts an Event on the Node when failures grew
 * (per result kind). The first look only sets the baseline.
 */
final class PullFailureWatcher {
    private static final Pattern SAMPLE = Pattern.compile("^berth_image_pulls_total\\{([^}]*)\\} (\\S+)$",
            Pattern.MULTILINE);
    private static final Pattern RESULT = Pattern.compile("result=\"([^\"]*)\"");

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
    private final URI url;
    private Map<String, Double> last;

    PullFailureWatcher(String url) {
        this.url = URI.create(url);
    }

    /** Failures by result since the previous look (empty on the first, or when /metrics does not answer). */
    Map<String, Long> newFailures() {
        String text;
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                return Map.of();
            }
            text = r.body();
        } catch (java.io.IOException e) {
            return Map.of();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Map.of();
        }
        Map<String, Double> now = failures(text);
        Map<String, Long> grown = new TreeMap<>();
        if (last != null) {
            now.forEach((result, n) -> {
                // a counter lower than before: berth restarted, everything counted is new
                double before = last.getOrDefault(result, 0.0);
                long d = Math.round(n >= before ? n - before : n);
                if (d > 0) {
                    grown.put(result, d);
                }
            });
        }
        last = now;
        return grown;
    }

    static Map<String, Double> failures(String metrics) {
        Map<String, Double> out = new TreeMap<>();
        Matcher m = SAMPLE.matcher(metrics);
        while (m.find()) {
            Matcher r = RESULT.matcher(m.group(1));
            if (r.find() && !r.group(1).equals("success")) {
                out.merge(r.group(1), Double.parseDouble(m.group(2)), Double::sum);
            }
        }
        return out;
    }
}
