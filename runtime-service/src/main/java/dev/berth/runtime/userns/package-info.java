/**
 * User namespaces for pods (namespace_options.userns_options): {@code PodUserNamespace} validates
 * a request and holds the pod's uid/gid mapping; {@code UserNamespaceSupport} says whether the node
 * can run such pods (Status, runtime handler features). The pod's namespaces are made by
 * {@code sandbox.UserNamespacePinner}, the OCI spec entries by {@code spec.UserNamespaceSpec} and
 * the idmapped root filesystem and bind mounts by {@code container.UserNamespaceMounts}.
 */
package dev.berth.runtime.userns;
