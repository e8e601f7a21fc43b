/**
 * This machine's loopback, decided one way for every rule "only on this machine": the address the bot
 * may listen on without a Microsoft app id (COUNTERSIGN_HOST), the Host an unauthenticated activity
 * must name, and where plain http is taken for a local stand-in (BotOpenIdMetadata, the Graph
 * endpoint). Three copies once gave three answers for the same address.
 *
 * Loopback is, and nothing else:
 * - `localhost`, in any case (names are case-insensitive; a URL lowercases it anyway);
 * - an IPv4 address in 127.0.0.0/8 written as four decimal numbers from 0 to 255 without leading
 *   zeros (`127.0.0.2` yes; `127.999.1.1` is no address, and `0127.0.0.1` is 87.0.0.1 to some
 *   resolvers, which read a leading zero as octal);
 * - IPv6 `::1`, bare (a listen address) or bracketed as in a URL or a Host header (`[::1]`).
 *
 * Not loopback: any other name, even one that ends up at 127.0.0.1 (`127.0.0.1.evil.com`, a name in
 * DNS: what it resolves to can change), and the IPv4-mapped form `::ffff:127.0.0.1` (a URL rewrites
 * it to `[::ffff:7f00:1]`; write 127.0.0.1 instead). A URL's host should be read through `new URL`
 * first, which turns the shorthands it allows (`127.1`, `0x7f.1`, `[0:0:0:0:0:0:0:1]`) into these forms.
 */

/** How every message names loopback, so they say the same thing. */
export const LOOPBACK_TEXT = "this machine's loopback (localhost, 127.0.0.0/8 or ::1)";

/** One part of a dotted IPv4 address: 0 to 255, no leading zero. */
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const LOOPBACK_IPV4 = new RegExp(`^127(?:\\.${OCTET}){3}$`);

/** Whether a host name or address (no port) is this machine's loopback; see the module comment. */
export function isLoopbackHost(host: string): boolean {
  return host.toLowerCase() === 'localhost' || host === '::1' || host === '[::1]' || LOOPBACK_IPV4.test(host);
}
