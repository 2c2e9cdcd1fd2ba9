// Serves the demo: www/ at /, model folders at /models/<name>/ from models/ (yours, not
// committed) or tests/fixtures/models/ (tiny fixtures), and single-file models at
// /models/<name>.gguf from models/ or tests/fixtures/gguf/. /models/index.json lists both
// (folder names, and file names ending in .gguf).
// Binds 127.0.0.1 only. Usage: node scripts/serve.mjs [port]
import { createServer } from 'node:http';
import { readFile, readdir, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(fileURLToPath(new URL('..', import.meta.url)));
const modelRoots = [join(repo, 'models'), join(repo, 'tests/fixtures/models')];
const ggufRoots = [join(repo, 'models'), join(repo, 'tests/fixtures/gguf')];
const types = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.json': 'application/json', '.wasm': 'application/wasm', '.png': 'image/png',
  '.css': 'text/css', '.ts': 'text/plain',
};

/** `root` joined with `path`, or null if that would leave `root`. */
function inside(root, path) {
  const full = resolve(root, `.${path}`);
  return full === root || full.startsWith(root + sep) ? full : null;
}

async function isFile(path) {
  return path !== null && (await stat(path).catch(() => null))?.isFile();
}

async function listModels() {
  const names = new Set();
  for (const root of modelRoots) {
    for (const entry of await readdir(root, { withFileTypes: true }).catch(() => [])) {
      if (entry.isDirectory() && (await isFile(join(root, entry.name, 'config.json')))) names.add(entry.name);
    }
  }
  for (const root of ggufRoots) {
    for (const entry of await readdir(root, { withFileTypes: true }).catch(() => [])) {
      if (entry.isFile() && entry.name.toLowerCase().endsWith('.gguf')) names.add(entry.name);
    }
  }
  return [...names].sort();
}

/**
 * Starts the server. `routes` (optional) maps a path to a function returning `{type, body}` or
 * null for a 404 (tests use it for broken files); `onRequest(path)` sees every request.
 */
export async function serve({ port = 8080, routes = {}, onRequest } = {}) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
    onRequest?.(path);
    const send = (status, body, type = 'text/plain') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    try {
      if (routes[path]) {
        const routed = await routes[path]();
        return routed ? send(200, routed.body, routed.type) : send(404, `not found: ${path}`);
      }
      if (path === '/models/index.json') return send(200, JSON.stringify(await listModels()), types['.json']);
      let file = null;
      if (path.startsWith('/models/')) {
        const roots = path.toLowerCase().endsWith('.gguf') ? [...modelRoots, ...ggufRoots] : modelRoots;
        for (const root of roots) {
          const candidate = inside(root, path.slice('/models'.length));
          if (await isFile(candidate)) { file = candidate; break; }
        }
      } else {
        const candidate = inside(join(repo, 'www'), path.endsWith('/') ? `${path}index.html` : path);
        if (await isFile(candidate)) file = candidate;
      }
      if (!file) return send(404, `not found: ${path}`);
      send(200, await readFile(file), types[extname(file)] ?? 'application/octet-stream');
    } catch (error) {
      send(500, String(error));
    }
  });
  await new Promise((ok) => server.listen(port, '127.0.0.1', ok));
  return server;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.argv[2] ?? 8080);
  await serve({ port });
  console.log(`hearth demo: http://127.0.0.1:${port}/  (models: ${(await listModels()).join(', ')})`);
}
