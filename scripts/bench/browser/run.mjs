// The browser benchmark: hearth (WebGPU, CPU) and transformers.js (WebGPU, WASM) on the same
// model, in the same headless Chromium (WebGPU on SwiftShader), each configuration in a fresh
// browser running www/bench.html. Prints one JSON line per configuration and writes
// bench-results/browser.json.
//
//   node scripts/bench/browser/run.mjs [--model smollm2-135m] [--runs 3] [--prompt 128] [--gen 64]
//       [--only hearth-webgpu-f32,hearth-cpu-f32,tjs-wasm,tjs-webgpu,...] [--embed-model minilm-l6]
//       [--timeout-scale 1] [--out bench-results/browser.json] [--set key=value,...] [--models bench-models]
//   node scripts/bench/browser/run.mjs --serve [port]    (serve the bench page to use by hand)
//   node scripts/bench/browser/run.mjs --list            (the configurations)
//
// The server binds 127.0.0.1 and streams files (with Range support): www/ at /, bench-models/ at
// /models/ (falling back to the test fixtures), transformers.js at /vendor/transformers/ and
// onnxruntime-web at /vendor/ort/. Every response carries the cross-origin isolation headers
// (COOP/COEP), which multithreaded WASM needs.
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = resolve(here, '../../..');
const modules = join(here, 'node_modules');

// ---------------------------------------------------------------------------------------------
// Arguments

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
function option(name, fallback) {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < argv.length && !argv[at + 1].startsWith('--') ? argv[at + 1] : fallback;
}
const model = option('model', 'smollm2-135m');
const embedModel = option('embed-model', 'minilm-l6');
const runs = Number(option('runs', 3));
const prompt = Number(option('prompt', 128));
const gen = Number(option('gen', 64));
const timeoutScale = Number(option('timeout-scale', 1));
const out = resolve(repo, option('out', 'bench-results/browser.json'));
const modelsRoot = resolve(repo, option('models', 'bench-models'));
// --set key=value,...: query parameters for every selected configuration (e.g. model=/models/x/).
const overrides = Object.fromEntries((option('set', '') || '').split(',').filter(Boolean).map((kv) => kv.split(/=(.*)/s, 2)));

// ---------------------------------------------------------------------------------------------
// Configurations: query parameters for www/bench.html, and a time limit for each.

const tjsWebgpuGen = Math.min(gen, 8);
const configurations = [
  { name: 'hearth-webgpu-f32', timeout: 900, query: { engine: 'hearth', device: 'webgpu', model: `/models/${model}/f32/`, dtype: 'f32' } },
  { name: 'hearth-webgpu-f16', timeout: 900, query: { engine: 'hearth', device: 'webgpu', model: `/models/${model}/f16/`, dtype: 'f16' } },
  { name: 'hearth-webgpu-q8_0', timeout: 900, query: { engine: 'hearth', device: 'webgpu', model: `/models/${model}/${model}-q8_0.gguf`, dtype: 'q8_0' } },
  { name: 'hearth-webgpu-q4_0', timeout: 900, query: { engine: 'hearth', device: 'webgpu', model: `/models/${model}/${model}-q4_0.gguf`, dtype: 'q4_0' } },
  { name: 'hearth-cpu-f32', timeout: 1500, query: { engine: 'hearth', device: 'cpu', model: `/models/${model}/f32/`, dtype: 'f32' } },
  { name: 'hearth-cpu-q8_0', timeout: 1500, query: { engine: 'hearth', device: 'cpu', model: `/models/${model}/${model}-q8_0.gguf`, dtype: 'q8_0' } },
  { name: 'hearth-cpu-q4_0', timeout: 1500, query: { engine: 'hearth', device: 'cpu', model: `/models/${model}/${model}-q4_0.gguf`, dtype: 'q4_0' } },
  // No device: what a page gets by default (on a software adapter, the CPU engine).
  { name: 'hearth-default-q4_0', timeout: 1500, query: { engine: 'hearth', device: 'default', model: `/models/${model}/${model}-q4_0.gguf`, dtype: 'q4_0' } },
  { name: 'tjs-wasm', timeout: 900, query: { engine: 'transformers', device: 'wasm', model: `/models/${model}/onnx/`, dtype: 'f32', threads: 2 } },
  // ~0.1 tok/s on SwiftShader: fewer new tokens and one run (the result says so in `notes`).
  {
    name: 'tjs-webgpu', timeout: 1800, note: `transformers.js WebGPU is slow on SwiftShader: ${tjsWebgpuGen} new tokens, 1 run`,
    query: { engine: 'transformers', device: 'webgpu', model: `/models/${model}/onnx/`, dtype: 'f32', gen: tjsWebgpuGen, runs: 1 },
  },
  // Embedders: a batch of 32 texts of 128 tokens, as the native `hearth bench` on an embedder.
  { name: 'hearth-embed-webgpu', embed: true, timeout: 600, query: { engine: 'hearth', task: 'embed', device: 'webgpu', model: `/models/${embedModel}/f32/`, dtype: 'f32' } },
  { name: 'hearth-embed-cpu', embed: true, timeout: 900, query: { engine: 'hearth', task: 'embed', device: 'cpu', model: `/models/${embedModel}/f32/`, dtype: 'f32' } },
  { name: 'tjs-embed-wasm', embed: true, timeout: 900, query: { engine: 'transformers', task: 'embed', device: 'wasm', model: `/models/${embedModel}/onnx/`, dtype: 'f32', threads: 2 } },
  { name: 'tjs-embed-webgpu', embed: true, timeout: 1200, query: { engine: 'transformers', task: 'embed', device: 'webgpu', model: `/models/${embedModel}/onnx/`, dtype: 'f32', runs: 1 } },
];
// By default the text-generation configurations; --only picks any (a prefix picks a group).
const only = option('only', null)?.split(',').map((s) => s.trim()).filter(Boolean);
const selected = only
  ? configurations.filter((c) => only.some((o) => c.name === o || c.name.startsWith(`${o}-`)))
  : configurations.filter((c) => !c.embed);

// ---------------------------------------------------------------------------------------------
// The server

const types = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.json': 'application/json', '.wasm': 'application/wasm', '.css': 'text/css', '.ts': 'text/plain',
  '.map': 'application/json', '.txt': 'text/plain',
};
const mounts = [
  ['/vendor/transformers/', [join(modules, '@huggingface/transformers/dist')]],
  ['/vendor/ort/', [join(modules, 'onnxruntime-web/dist')]],
  ['/models/', [modelsRoot, join(repo, 'tests/fixtures/models'), join(repo, 'tests/fixtures/gguf')]],
  ['/', [join(repo, 'www')]],
];

/** `root` joined with `path`, or null if that would leave `root`. */
function inside(root, path) {
  const full = resolve(root, `.${path}`);
  return full === root || full.startsWith(root + sep) ? full : null;
}

async function locate(path) {
  for (const [prefix, roots] of mounts) {
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length - 1);
    for (const root of roots) {
      const file = inside(root, rest.endsWith('/') ? `${rest}index.html` : rest);
      const info = file && (await stat(file).catch(() => null));
      if (info?.isFile()) return { file, size: info.size };
    }
    return null;
  }
  return null;
}

async function serve(port) {
  const server = createServer(async (req, res) => {
    const headers = {
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
      'cross-origin-resource-policy': 'same-origin',
      'cache-control': 'no-store',
    };
    try {
      const path = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
      const found = await locate(path === '/' ? '/bench.html' : path);
      if (!found || !['GET', 'HEAD'].includes(req.method)) {
        res.writeHead(found ? 405 : 404, { ...headers, 'content-type': 'text/plain' });
        return res.end(found ? 'method not allowed' : `not found: ${path}`);
      }
      const { file, size } = found;
      headers['content-type'] = types[extname(file)] ?? 'application/octet-stream';
      headers['accept-ranges'] = 'bytes';
      let [start, end, status] = [0, size - 1, 200];
      const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
      if (range && (range[1] || range[2])) {
        if (range[1]) { start = Number(range[1]); end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1; }
        else { start = Math.max(0, size - Number(range[2])); }
        if (start > end || start >= size) {
          res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` });
          return res.end();
        }
        status = 206;
        headers['content-range'] = `bytes ${start}-${end}/${size}`;
      }
      headers['content-length'] = end - start + 1;
      res.writeHead(status, headers);
      if (req.method === 'HEAD' || size === 0) return res.end();
      const stream = createReadStream(file, { start, end, highWaterMark: 1 << 20 });
      stream.on('error', () => res.destroy());
      res.on('close', () => stream.destroy());
      stream.pipe(res);
    } catch (error) {
      if (!res.headersSent) res.writeHead(500, { ...headers, 'content-type': 'text/plain' });
      res.end(String(error));
    }
  });
  await new Promise((ok) => server.listen(port, '127.0.0.1', ok));
  return server;
}

// ---------------------------------------------------------------------------------------------
// The browser

const chromiumArgs = [
  '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader', '--no-sandbox', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];

const packageVersion = async (dir) => JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')).version;

/** Runs one configuration in a browser of its own; never throws, never hangs past its timeout. */
async function runConfiguration(base, config) {
  const query = new URLSearchParams({ prompt, gen, runs, ...config.query, ...overrides, run: '1' });
  const url = `${base}/bench.html?${query}`;
  const limit = config.timeout * timeoutScale;
  const started = Date.now();
  const server = await chromium.launchServer({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: chromiumArgs,
    handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
  });
  current = server;
  const logs = [];
  let browser;
  try {
    browser = await chromium.connect(server.wsEndpoint());
    const chromiumVersion = browser.version();
    const page = await (await browser.newContext()).newPage();
    page.on('console', (message) => {
      const text = message.text();
      logs.push(text);
      // 404s are expected: optional model files and the favicon.
      if (text.startsWith('[bench]') || (message.type() === 'error' && !text.includes('404'))) process.stderr.write(`  ${config.name}: ${text.split('\n')[0]}\n`);
    });
    page.on('crash', () => logs.push('page crashed'));
    await page.goto(url);
    const done = await page.waitForFunction(() => document.body.dataset.done, null, { timeout: limit * 1000, polling: 500 })
      .then((handle) => handle.jsonValue(), (error) => (error.name === 'TimeoutError' ? 'timeout' : `failed: ${error.message.split('\n')[0]}`));
    const seconds = (Date.now() - started) / 1000;
    const common = { config: config.name, url, chromium: chromiumVersion, wall_s: seconds };
    if (done === 'ok') {
      const result = await page.evaluate(() => window.benchResult);
      if (config.note) result.notes = [config.note, ...(result.notes ?? [])];
      return { ...common, ...result };
    }
    const error = done === 'timeout' ? `timed out after ${limit} s`
      : done === 'error' ? await page.evaluate(() => window.benchError) : done;
    return { ...common, error, log_tail: logs.slice(-5) };
  } catch (error) {
    return { config: config.name, url, error: String(error.message ?? error).split('\n')[0], log_tail: logs.slice(-5) };
  } finally {
    await Promise.race([browser?.close(), new Promise((ok) => setTimeout(ok, 10_000))]).catch(() => {});
    await server.kill().catch(() => {});
    current = null;
  }
}

// Stopping the runner stops the browser it is using and ends the whole run (not only the
// configuration under way).
let current = null;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, async () => {
    process.stderr.write(`${signal}: stopping\n`);
    await current?.kill().catch(() => {});
    process.exit(130);
  });
}

// ---------------------------------------------------------------------------------------------

if (flag('list')) {
  for (const c of configurations) console.log(`${c.name}${c.embed ? ' (embed; only with --only)' : ''}: ${new URLSearchParams(c.query)}`);
  process.exit(0);
}

if (flag('serve')) {
  const port = Number(option('serve', 8090));
  await serve(port);
  console.log(`bench page: http://127.0.0.1:${port}/bench.html  (models from bench-models/ at /models/)`);
  console.log(`for example: http://127.0.0.1:${port}/bench.html?engine=hearth&device=webgpu&model=/models/${model}/f32/&run=1`);
} else {
  const server = await serve(0);
  const base = `http://127.0.0.1:${server.address().port}`;
  const versions = {
    transformers_js: await packageVersion(join(modules, '@huggingface/transformers')),
    onnxruntime_web: await packageVersion(join(modules, 'onnxruntime-web')),
    playwright_core: await packageVersion(join(modules, 'playwright-core')),
    hearth: await packageVersion(join(repo, 'www/pkg')).catch(() => null),
  };
  const host = { cpus: cpus().length, cpu_model: cpus()[0]?.model, loadavg_start: loadavg() };
  const results = [];
  for (const config of selected) {
    process.stderr.write(`${config.name} (limit ${config.timeout * timeoutScale} s)\n`);
    const result = { ...(await runConfiguration(base, config)), loadavg: loadavg() };
    results.push(result);
    const { info, gpu_adapter: _, user_agent: __, log_tail: ___, ...line } = result;
    console.log(JSON.stringify(line));
  }
  host.loadavg_end = loadavg();
  const report = { date: new Date().toISOString(), model, embed_model: embedModel, prompt_tokens: prompt, gen_tokens: gen, runs, versions, host, results };
  await mkdir(resolve(out, '..'), { recursive: true });
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(`wrote ${out}\n`);
  server.close();
}
