#!/usr/bin/env node
// Tiny static server for web/dist (no dependencies). Serves /config.json generated from the
// environment, so one build can point at the local stack or a deployed one.
//   WEB_HOST (127.0.0.1) WEB_PORT (8080) CAMPAIGN_API_URL CAMPAIGN_WS_URL WEB_LOCAL_AUTH (true)
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(process.env.WEB_DIST ?? join(fileURLToPath(new URL('.', import.meta.url)), '..', 'dist'));
const host = process.env.WEB_HOST ?? '127.0.0.1';
const port = Number(process.env.WEB_PORT ?? 8080);
const config = {
  apiUrl: process.env.CAMPAIGN_API_URL ?? 'http://127.0.0.1:3000',
  wsUrl: process.env.CAMPAIGN_WS_URL ?? 'ws://127.0.0.1:3001',
  localAuth: !/^(0|false|no)$/i.test(process.env.WEB_LOCAL_AUTH ?? 'true'),
};
for (const [env, key] of [
  ['WEB_EVENT_SILENCE_MS', 'eventSilenceMs'],
  ['WEB_POLL_INTERVAL_MS', 'pollIntervalMs'],
  ['WEB_AUTOSTART_WAIT_MS', 'autoStartWaitMs'],
]) {
  if (process.env[env]) config[key] = Number(process.env[env]);
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

if (!existsSync(join(root, 'index.html'))) {
  console.error(`serve: ${root}/index.html not found — run "npm run build" first`);
  process.exit(1);
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const headers = { 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { ...headers, Allow: 'GET, HEAD' }).end();
    return;
  }
  if (url.pathname === '/config.json') {
    res.writeHead(200, { ...headers, 'Content-Type': TYPES['.json'], 'Cache-Control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : JSON.stringify(config));
    return;
  }
  if (url.pathname === '/healthz') {
    res.writeHead(200, { ...headers, 'Content-Type': 'text/plain' }).end('ok');
    return;
  }
  let rel;
  try {
    rel = normalize(decodeURIComponent(url.pathname)).replace(/^([/\\])+/, '');
  } catch {
    res.writeHead(400, headers).end();
    return;
  }
  let file = join(root, rel);
  if (!file.startsWith(root + sep) && file !== root) {
    res.writeHead(403, headers).end();
    return;
  }
  if (!existsSync(file) || statSync(file).isDirectory()) file = join(root, 'index.html'); // SPA fallback
  const immutable = file.includes(`${sep}assets${sep}`);
  res.writeHead(200, {
    ...headers,
    'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
    'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  if (req.method === 'HEAD') res.end();
  else createReadStream(file).pipe(res);
});

server.on('error', (e) => {
  console.error(`serve: ${e.message}`);
  process.exit(1);
});
server.listen(port, host, () => {
  if (!process.env.WEB_QUIET) console.log(`web: serving ${root} on http://${host}:${port} (api ${config.apiUrl}, ws ${config.wsUrl})`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
