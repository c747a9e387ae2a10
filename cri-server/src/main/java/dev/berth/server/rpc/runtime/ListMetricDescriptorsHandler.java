package dev.berth.server.rpc.runtime;

import dev.berth.server.metrics.CadvisorMetrics;
import jakarta.enterprise.context.ApplicationScoped;
import runtime.v1.ListMetricDescriptorsRequest;
import runtime.v1.ListMetricDescriptorsResponse;

/** ListMetricDescriptors: name, help and label keys of every cAdvisor metric ListPodSandboxMetrics sends. */
@ApplicationScoped
public class ListMetricDescriptorsHandler {
    public ListMetricDescriptorsResponse handle(ListMetricDescriptorsRequest req) {
        return ListMetricDescriptorsResponse.newBuilder().addAllDescriptors(CadvisorMetrics.descriptors()).build();
    }
}
