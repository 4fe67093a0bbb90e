/**
 * Which of the agent's outbound connections skip its HTTP(S) proxy: `NO_PROXY` as curl and most
 * tools read it — entries separated by commas or spaces; `*` alone matches every host; a name
 * matches itself and its subdomains (`example.com`, `.example.com` and `*.example.com` all match
 * `api.example.com`, the first also `example.com`); an IP address or `localhost` matches exactly;
 * `host:port` only on that port. CIDR ranges are not understood (an entry like `10.0.0.0/8`
 * matches nothing).
 */

/** True when a connection to `host:port` should not go through the proxy. */
export function bypassesProxy(host: string, port: number, noProxy: string | undefined): boolean {
  const target = normalHost(host);
  for (const raw of (noProxy ?? '').split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    const { name, port: only } = splitPort(entry);
    if (only !== undefined && only !== port) continue;
    const domain = name.replace(/^\*?\./, '');
    if (!domain) continue;
    if (target === domain) return true;
    // `.example.com` and `*.example.com` (and plain `example.com`) cover subdomains; addresses match only exactly.
    if (!isIp(domain) && !isIp(target) && target.endsWith(`.${domain}`)) return true;
  }
  return false;
}

function normalHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
}

function splitPort(entry: string): { name: string; port?: number } {
  // `[::1]:8080`, `host:443`; a bare IPv6 address has more than one colon and no port.
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) {
    return { name: bracketed[1] ?? '', ...(bracketed[2] ? { port: Number(bracketed[2]) } : {}) };
  }
  const m = /^([^:]+):(\d+)$/.exec(entry);
  if (m) return { name: (m[1] ?? '').replace(/\.$/, ''), port: Number(m[2]) };
  return { name: entry.replace(/\.$/, '') };
}

function isIp(name: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(name) || name.includes(':');
}

/** A proxy URL as it may be shown: scheme, host and port, never the user and password. */
export function shownProxy(url: URL): string {
  return `${url.protocol}//${url.host}`;
}
