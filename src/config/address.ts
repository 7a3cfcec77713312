// Network addresses written in the config file: "host:port" (IPv6 in brackets, "[::1]:3901"),
// API listen addresses (host:port, or an absolute path for a Unix socket, as Garage allows), and
// bootstrap peers ("<64-hex node id>@host:port", or "host:port" whose id is learned at handshake).

import { isIP, isIPv6 } from 'node:net';

import { NODE_ID_BYTES } from './limits';

/** A TCP address. host is a hostname, an IPv4 address or an IPv6 address without brackets. */
export interface HostPort {
  host: string;
  port: number;
}

/** Where an HTTP API listens: a TCP address, or a Unix socket path. */
export type ListenAddress = ({ kind: 'tcp' } & HostPort) | { kind: 'unix'; path: string };

/** A peer to contact at start. nodeId is lowercase hex, or undefined when learned at handshake. */
export interface BootstrapPeer extends HostPort {
  nodeId?: string;
}

export class AddressError extends Error {
  override readonly name = 'AddressError';
}

const PORT_MAX = 65535;
const HOSTNAME_CHARS_MAX = 253;
// RFC 1123 labels, plus "_" because container runtimes hand out names like "garage_1".
const HOSTNAME_LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/i;
const NODE_ID_PATTERN = new RegExp(`^[0-9a-f]{${NODE_ID_BYTES * 2}}$`, 'i');

export interface PortRule {
  /** Listeners may ask the system for a free port with 0; addresses others dial may not. */
  allowZero: boolean;
}

function parsePort(text: string, shown: string, rule: PortRule): number {
  if (!/^\d{1,5}$/.test(text)) throw new AddressError(`address ${shown} has no valid port (expected host:port)`);
  const port = Number(text);
  const min = rule.allowZero ? 0 : 1;
  if (port < min || port > PORT_MAX) throw new AddressError(`address ${shown} has port ${port}, outside ${min}..${PORT_MAX}`);
  return port;
}

function isHostname(host: string): boolean {
  return host.length <= HOSTNAME_CHARS_MAX && host.split('.').every((label) => HOSTNAME_LABEL.test(label));
}

function checkHost(host: string, shown: string): string {
  if (host === '') throw new AddressError(`address ${shown} has no host (expected host:port)`);
  if (host.includes(':')) {
    throw new AddressError(`address ${shown}: write an IPv6 address in brackets, e.g. "[::1]:3901"`);
  }
  if (isIP(host) === 0 && !isHostname(host)) throw new AddressError(`address ${shown} has an invalid host "${host}"`);
  return host;
}

/** Parses "host:port" or "[ipv6]:port". Throws AddressError. */
export function parseHostPort(text: string, rule: PortRule = { allowZero: false }): HostPort {
  const shown = JSON.stringify(text);
  const bracketed = /^\[([^\]]*)\]:([^:]*)$/.exec(text);
  if (bracketed !== null) {
    const [, host, port] = bracketed as unknown as [string, string, string];
    if (!isIPv6(host)) throw new AddressError(`address ${shown}: "${host}" in brackets is not an IPv6 address`);
    return { host, port: parsePort(port, shown, rule) };
  }
  const colon = text.lastIndexOf(':');
  if (colon < 0) throw new AddressError(`address ${shown} has no port (expected host:port)`);
  const host = checkHost(text.slice(0, colon), shown);
  return { host, port: parsePort(text.slice(colon + 1), shown, rule) };
}

/** Parses an API listen address: host:port (port 0 allowed), or an absolute Unix socket path. */
export function parseListenAddress(text: string): ListenAddress {
  if (text.startsWith('/')) return { kind: 'unix', path: text };
  return { kind: 'tcp', ...parseHostPort(text, { allowZero: true }) };
}

/** Parses a bootstrap peer: "<64-hex node id>@host:port" or "host:port". Throws AddressError. */
export function parseBootstrapPeer(text: string): BootstrapPeer {
  const at = text.indexOf('@');
  if (at < 0) return parseHostPort(text);
  const nodeId = text.slice(0, at);
  if (!NODE_ID_PATTERN.test(nodeId)) {
    throw new AddressError(
      `peer ${JSON.stringify(text)}: the part before "@" must be a node id of ${NODE_ID_BYTES * 2} hex characters`,
    );
  }
  return { nodeId: nodeId.toLowerCase(), ...parseHostPort(text.slice(at + 1)) };
}

/** Formats a TCP address back to "host:port", bracketing IPv6 hosts. */
export function formatHostPort(address: HostPort): string {
  return isIPv6(address.host) ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
