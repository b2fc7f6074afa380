/**
 * The HTTP host adapter. `createHostPorts` is the name a worker's
 * JOURNEYS_HOST_PORTS module exports, so this folder can be given there as is.
 */
export { httpHostPorts, httpHostPorts as createHostPorts, type HttpHostPorts } from './http-host-ports';
export { HttpHostAdapter } from './http-host-adapter';
export { HostApiClient, HostApiUnavailableError, type HostApiClientOptions } from './host-api.client';
export * from './host-api.protocol';
