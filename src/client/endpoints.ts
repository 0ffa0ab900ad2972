// --endpoints: comma-separated client URLs, as etcdctl takes them.
import { UsageError } from '../errors.js';

/** The default endpoint, as etcd's. */
export const DEFAULT_ENDPOINT = 'http://127.0.0.1:2379';

/**
 * Parses and normalizes endpoints ("host:port" gets http://; trailing slashes go), refusing
 * anything that is not an http URL with a host, with a usage error that names the flag.
 */
export function parseEndpoints(input: string | readonly string[], flag = '--endpoints'): string[] {
  const items = (typeof input === 'string' ? input.split(',') : input.flatMap((i) => i.split(',')))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw new UsageError(`${flag}: no endpoint given`, `give client URLs like ${DEFAULT_ENDPOINT}`);
  const out: string[] = [];
  for (const item of items) {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(item) ? item : `http://${item}`;
    let url: URL;
    try {
      url = new URL(withScheme);
    } catch {
      throw new UsageError(`${flag}: "${item}" is not a URL`, `give client URLs like ${DEFAULT_ENDPOINT}, separated by commas`);
    }
    if (url.protocol !== 'http:') {
      throw new UsageError(`${flag}: "${item}" is not an http:// URL`, 'Lifeboat members serve clients over plain http');
    }
    if (!url.hostname || (url.pathname !== '/' && url.pathname !== '')) {
      throw new UsageError(`${flag}: "${item}" must be scheme://host:port with no path`, `give client URLs like ${DEFAULT_ENDPOINT}`);
    }
    const normalized = `http://${url.host}`;
    if (!out.includes(normalized)) out.push(normalized);
  }
  return out;
}
