/**
 * Servers a browser test starts for the keywords flow, on 127.0.0.1 with random ports:
 * - a tiny authoritative DNS server (UDP): A for the names it was given, NODATA for their other
 *   types, NXDOMAIN for everything else;
 * - an HTTP server with a page per `Host` (a handler per domain), recording every request
 *   (host, path, user agent) so a test can check what the phase sent.
 * Node's standard library only; both stop with `close()`.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestDns {
  port: number;
  queries: string[];
  close(): Promise<void>;
}

/** Reads the question name at offset 12 (no compression in a question). */
function questionName(msg: Buffer): { name: string; end: number } | null {
  const labels: string[] = [];
  let i = 12;
  while (i < msg.length) {
    const len = msg[i];
    if (len === 0) return { name: labels.join('.').toLowerCase(), end: i + 1 };
    if (len > 63 || i + 1 + len > msg.length) return null;
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('latin1'));
    i += 1 + len;
  }
  return null;
}

/** `records`: domain (no trailing dot) → IPv4 address. */
export async function startDns(records: Record<string, string>): Promise<TestDns> {
  const table = new Map(Object.entries(records).map(([k, v]) => [k.toLowerCase(), v]));
  const queries: string[] = [];
  const socket: Socket = createSocket('udp4');
  socket.on('message', (msg, peer) => {
    if (msg.length < 12) return;
    const q = questionName(msg);
    if (!q || q.end + 4 > msg.length) return;
    const qtype = msg.readUInt16BE(q.end);
    queries.push(`${q.name} ${qtype}`);
    const question = msg.subarray(12, q.end + 4);
    const ip = table.get(q.name.replace(/\.$/, ''));
    const answer = ip && qtype === 1;
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2); // id
    const rd = msg[2] & 0x01;
    header[2] = 0x84 | rd; // QR, AA, RD echoed
    header[3] = 0x80 | (ip ? 0 : 3); // RA, NOERROR or NXDOMAIN
    header.writeUInt16BE(1, 4); // QDCOUNT
    header.writeUInt16BE(answer ? 1 : 0, 6); // ANCOUNT
    const parts = [header, question];
    if (answer) {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0); // name: pointer to the question
      rr.writeUInt16BE(1, 2); // A
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(60, 6); // TTL
      rr.writeUInt16BE(4, 10);
      ip.split('.').forEach((o, k) => (rr[12 + k] = Number(o)));
      parts.push(rr);
    }
    socket.send(Buffer.concat(parts), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

export interface SeenRequest {
  host: string;
  path: string;
  userAgent: string;
  headers: IncomingMessage['headers'];
}

export type Page = (req: IncomingMessage, res: ServerResponse) => void;

export interface TestHttp {
  port: number;
  requests: SeenRequest[];
  close(): Promise<void>;
}

/** `pages`: Host (without port) → handler; any other Host gets a 404. */
export async function startHttp(pages: Record<string, Page>): Promise<TestHttp> {
  const requests: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    requests.push({ host, path: req.url ?? '', userAgent: String(req.headers['user-agent'] ?? ''), headers: req.headers });
    const page = pages[host];
    if (!page) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('no such host');
      return;
    }
    page(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const html = (title: string, body: string): Page => (_req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><html><head><title>${title}</title><script>var hidden = "sale sale sale";</script></head><body>${body}</body></html>`);
};
