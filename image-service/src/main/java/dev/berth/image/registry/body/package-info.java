/**
 * Bodies of registry and token-server responses: watched for stalls ({@link
 * dev.berth.image.registry.body.ResponseBody}) and read within a size bound ({@link
 * dev.berth.image.registry.body.Bodies}). Used by the registry caller and the token fetcher alike.
 */
package dev.berth.image.registry.body;
