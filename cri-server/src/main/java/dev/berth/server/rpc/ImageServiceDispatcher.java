package dev.berth.server.rpc;

import jakarta.enterprise.context.ApplicationScoped;
import runtime.v1.ImageServiceGrpc;

/**
 * runtime.v1.ImageService: dispatch only, one line per RPC into its handler. RPCs not overridden
 * here answer UNIMPLEMENTED naming the method.
 */
@ApplicationScoped
public class ImageServiceDispatcher extends ImageServiceGrpc.ImageServiceImplBase {}
