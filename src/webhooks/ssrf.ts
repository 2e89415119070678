/**
 * The SSRF guard: webhook callbacks may only reach public unicast addresses, unless an
 * operator allowlists hosts or CIDRs. Checked twice: at subscribe time on the literal or
 * resolved address (a clear -32602), and at send time on the address actually connected to
 * (request-filtering-agent), so DNS rebinding cannot slip past the first check.
 */
import { webhookLookups } from './lookupGate';
import net from 'node:net';
import type http from 'node:http';
import type https from 'node:https';
import ipaddr from 'ipaddr.js';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';

export interface AddressPolicy {
  /** Hosts (exact, lower case) whose callbacks skip the guard. */
  hosts: Set<string>;
  /** IP addresses and CIDR ranges that are allowed although private. */
  ranges: string[];
}

export function parseAllowlist(value: string): AddressPolicy {
  const hosts = new Set<string>();
  const ranges: string[] = [];
  for (const raw of value
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter(Boolean)) {
    const bare = raw.replace(/^\[(.*)\]$/, '$1');
    if (net.isIP(bare) || ipaddr.isValidCIDR(bare)) ranges.push(bare);
    else if (bare.includes('/')) {
      // No host name has a slash: a range mistyped (10.0.0.0/33) would silently match nothing.
      throw new Error(`webhook allowlist: "${raw}" is not a valid address range (CIDR)`);
    } else hosts.add(bare);
  }
  return { hosts, ranges };
}

function inRange(address: ipaddr.IPv4 | ipaddr.IPv6, range: string): boolean {
  if (!range.includes('/'))
    return address.toNormalizedString() === ipaddr.parse(range).toNormalizedString();
  const [network, bits] = ipaddr.parseCIDR(range);
  return address.kind() === network.kind() && address.match([network, bits] as never);
}

/** The IPv4 address an IPv4-mapped IPv6 one (`::ffff:a.b.c.d`) stands for; else undefined. */
function mappedIPv4(address: ipaddr.IPv4 | ipaddr.IPv6): string | undefined {
  if (address.kind() !== 'ipv6' || !(address as ipaddr.IPv6).isIPv4MappedAddress()) return;
  return (address as ipaddr.IPv6).toIPv4Address().toString();
}

/** Why this address may not be called back, or undefined when it may. */
export function forbiddenReason(ip: string, policy: AddressPolicy): string | undefined {
  if (!ipaddr.isValid(ip)) return `${ip} is not an IP address`;
  const address = ipaddr.parse(ip);
  if (allowlisted(address, policy)) return undefined;
  const ipv4 = mappedIPv4(address);
  if (ipv4) {
    // The sender's connect-time guard refuses these whatever they map to (and matches the
    // allowlist on the address as written): refused here too, rather than dead on every send.
    return `${ip} is an IPv4-mapped IPv6 address: give the IPv4 address ${ipv4} instead`;
  }
  const range = address.range();
  if (range === 'unicast' && isIPv4Compatible(address)) {
    // `::a.b.c.d` (deprecated): reaches that IPv4 address where legacy tunnels route `::/96`.
    return `${ip} is an IPv4-compatible IPv6 address (deprecated)`;
  }
  return range === 'unicast' ? undefined : `${ip} is a ${range} address`;
}

/** Whether the operator's allowlist opens `address` (a single address or a CIDR of it). */
function allowlisted(address: ipaddr.IPv4 | ipaddr.IPv6, policy: AddressPolicy): boolean {
  return policy.ranges.some((range) => inRange(address, range));
}

/** `::a.b.c.d` (the first 96 bits zero; `::` and `::1` are ranges of their own). */
function isIPv4Compatible(address: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  return address.kind() === 'ipv6' && (address as ipaddr.IPv6).parts.slice(0, 6).every((p) => !p);
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
}

/**
 * The subscribe-time check: refuses a callback whose host is, or resolves to, an address the
 * policy forbids. A host that does not resolve now is accepted: the send-time guard still
 * applies whenever it starts resolving.
 */
export async function callbackProblem(
  callbackUrl: string,
  policy: AddressPolicy,
): Promise<string | undefined> {
  const url = new URL(callbackUrl);
  const host = hostOf(url);
  if (policy.hosts.has(host)) return undefined;
  if (net.isIP(host)) return forbiddenReason(host, policy);
  let addresses: Array<{ address: string }>;
  try {
    addresses = await webhookLookups.lookupAll(host);
  } catch {
    return undefined;
  }
  for (const { address } of addresses) {
    const reason = forbiddenReason(address, policy);
    // The kind of address, not the address: told back, it would map internal names for any
    // caller (the send-time refusal says no more either).
    const kind =
      reason && (/^\S+ is (an? [a-z]+ address)$/.exec(reason)?.[1] ?? 'a forbidden address');
    if (kind) return `${host} resolves to ${kind}`;
  }
  return undefined;
}

export interface GuardedAgents {
  http: http.Agent;
  https: https.Agent;
  /** The name lookup their connections use (gated, and refusing `::a.b.c.d` answers). */
  lookup: typeof webhookLookups.lookup;
}

/**
 * The send-time lookup: the gate's, refusing an answer with an IPv4-compatible IPv6 address
 * (`::a.b.c.d`, not allowlisted), which request-filtering-agent takes for a public address
 * though it may reach a.b.c.d. Its error says "not allowed", as the agent's refusals do.
 */
export function refusingCompatible(
  policy: AddressPolicy,
  lookup = webhookLookups.lookup,
): typeof webhookLookups.lookup {
  return (hostname, options, callback) =>
    lookup(hostname, options, (error, ...results) => {
      if (error) return callback(error);
      const [first] = results;
      const answered = Array.isArray(first)
        ? (first as Array<{ address: string }>).map((entry) => entry.address)
        : [first as string];
      const refused = answered.find((address) => {
        if (!net.isIPv6(address)) return false;
        const parsed = ipaddr.parse(address);
        return isIPv4Compatible(parsed) && !allowlisted(parsed, policy);
      });
      if (!refused) return callback(null, ...results);
      callback(
        new Error(
          `DNS lookup ${refused} (host: ${hostname}) is not allowed: an IPv4-compatible IPv6 address (deprecated)`,
        ),
      );
    });
}

/**
 * The allowlist as the connect-time guard matches it: a single address is compared as written
 * with the address connected to, which a URL gives in its compact form (`[::ffff:127.0.0.1]`
 * connects to `::ffff:7f00:1`) and name resolution in dotted form for a mapped one
 * (`::ffff:127.0.0.1`), so each is listed in those forms too.
 */
export function connectForms(ranges: string[]): string[] {
  const forms = ranges
    .filter((range) => net.isIP(range))
    .flatMap((ip) => {
      const address = ipaddr.parse(ip);
      const ipv4 = mappedIPv4(address);
      return ipv4 ? [address.toString(), `::ffff:${ipv4}`] : [address.toString()];
    });
  return [...new Set([...ranges, ...forms])];
}

/**
 * How long a receiver's connection may sit idle before it is closed (node's own global agent
 * waits 5 s): kept alive without a bound, a receiver that never closes one (or a caller's
 * callbacks on many hosts) would hold sockets for the life of the process.
 */
export const IDLE_SOCKET_MS = 5_000;

/** Connection agents that refuse forbidden addresses at connect time. */
export function createGuardedAgents(policy: AddressPolicy): GuardedAgents {
  const options = {
    keepAlive: true,
    timeout: IDLE_SOCKET_MS,
    allowPrivateIPAddress: false,
    allowMetaIPAddress: false,
    allowIPAddressList: connectForms(policy.ranges),
  };
  return {
    http: new RequestFilteringHttpAgent(options),
    https: new RequestFilteringHttpsAgent(options),
    lookup: refusingCompatible(policy),
  };
}

/** Whether sends to this URL skip the connect-time guard (an allowlisted host name). */
export function isAllowlistedHost(callbackUrl: string, policy: AddressPolicy): boolean {
  return policy.hosts.has(hostOf(new URL(callbackUrl)));
}
