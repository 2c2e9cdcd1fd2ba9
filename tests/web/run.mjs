// Browser tests: hearth's public JS API (www/pkg/hearth.js) in headless Chromium with WebGPU on
// SwiftShader, against fixture models served over HTTP on 127.0.0.1. Prints one line per test and
// "N passed, N failed"; exits non-zero on any failure. Writes artifacts/demo.png.
import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from '../../scripts/serve.mjs';

const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const fixtures = join(repo, 'tests/fixtures/models');
const ggufFixtures = join(repo, 'tests/fixtures/gguf');
const reference = async (name) => JSON.parse(await readFile(join(fixtures, name, 'reference.json'), 'utf8'));
/** A GGUF fixture's reference (`quant-k` -> tests/fixtures/gguf/quant-k.json). */
const ggufReference = async (name) => JSON.parse(await readFile(join(ggufFixtures, `${name}.json`), 'utf8'));

const counts = new Map();
const fixtureFile = (model, file) => async () => ({ type: 'application/octet-stream', body: await readFile(join(fixtures, model, file)) });
const server = await serve({
  port: 0,
  onRequest: (path) => counts.set(path, (counts.get(path) ?? 0) + 1),
  routes: {
    '/blank.html': async () => ({ type: 'text/html', body: '<!doctype html><title>hearth tests</title>' }),
    '/broken-truncated/config.json': fixtureFile('llama-f32', 'config.json'),
    '/broken-truncated/tokenizer.json': fixtureFile('llama-f32', 'tokenizer.json'),
    '/broken-truncated/model.safetensors': async () => {
      const bytes = await readFile(join(fixtures, 'llama-f32', 'model.safetensors'));
      return { type: 'application/octet-stream', body: bytes.subarray(0, bytes.length >> 1) };
    },
    // The GGUF header and tensor table are whole; the tensor data stops halfway.
    '/broken/truncated.gguf': async () => {
      const bytes = await readFile(join(ggufFixtures, 'llama-f32.gguf'));
      return { type: 'application/octet-stream', body: bytes.subarray(0, bytes.length >> 1) };
    },
    // The magic and version, then noise.
    '/broken/garbage.gguf': async () => {
      const bytes = Buffer.alloc(4096);
      let state = 12345;
      for (let i = 0; i < bytes.length; i++) { state = (state * 1103515245 + 12345) >>> 0; bytes[i] = state >>> 24; }
      bytes.write('GGUF', 0, 'latin1');
      bytes.writeUInt32LE(3, 4);
      return { type: 'application/octet-stream', body: bytes };
    },
    '/broken/empty.gguf': async () => ({ type: 'application/octet-stream', body: Buffer.alloc(0) }),
  },
});
const base = `http://127.0.0.1:${server.address().port}`;
const count = (path) => counts.get(path) ?? 0;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader',
    '--use-webgpu-adapter=swiftshader', '--no-sandbox', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run',
  ],
});
const context = await browser.newContext();
const page = await context.newPage();
page.on('console', (message) => {
  // 404s are expected: optional model files and the favicon.
  if (message.type() === 'error' && !message.text().includes('404')) console.log(`  [page] ${message.text()}`);
});
await page.goto(`${base}/blank.html`);

/** Runs `fn` in the page with hearth imported as `hearth`. */
function inPage(fn, arg) {
  return page.evaluate(async ([source, arg]) => {
    const hearth = await import('/pkg/hearth.js');
    // eslint-disable-next-line no-new-func
    return new Function('hearth', 'arg', `return (${source})(hearth, arg);`)(hearth, arg);
  }, [fn.toString(), arg]);
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

function assertEqual(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  assert(a === e, `${what}: got ${a}, expected ${e}`);
}

/** Max abs error of `actual` against `expected` within `tolerance` times max(1, max |expected|). */
function assertClose(actual, expected, tolerance, what) {
  assertEqual(actual.length, expected.length, `${what}: length`);
  const scale = Math.max(1, ...expected.map(Math.abs));
  const error = Math.max(...actual.map((v, i) => Math.abs(v - expected[i])));
  assert(error <= tolerance * scale, `${what}: max abs error ${error} > ${tolerance} * ${scale}`);
}

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

test('gguf by URL: greedy ids and logits equal the reference; cached, listed and deleted as one file', async () => {
  const ref = await reference('llama-f32');
  const url = `${base}/models/llama-f32.gguf`;
  const before = count('/models/llama-f32.gguf');
  const out = await inPage(async (hearth, { url, ids }) => {
    await hearth.deleteCachedModel(url);
    const loads = [];
    for (let i = 0; i < 2; i++) {
      const progress = [];
      const engine = await hearth.Engine.load(url, { device: 'webgpu', onProgress: (p) => progress.push(p) });
      const result = await engine.generate({ ids, maxTokens: 16, temperature: 0, ignoreEos: true });
      const logits = Array.from(await engine.logits(ids));
      loads.push({ ids: result.ids, logits, info: engine.info(), modelId: engine.modelId, progress: progress.at(-1) });
      await engine.dispose();
    }
    const listed = (await hearth.listCachedModels()).find((m) => m.url === url) ?? null;
    const deleted = await hearth.deleteCachedModel(url);
    const after = (await hearth.listCachedModels()).find((m) => m.url === url) ?? null;
    return { loads, listed, deleted, after };
  }, { url, ids: ref.prompt_ids });
  const size = (await readFile(join(ggufFixtures, 'llama-f32.gguf'))).length;
  for (const [i, load] of out.loads.entries()) {
    assertEqual(load.ids, ref.greedy_ids, `load ${i}: greedy ids`);
    assertClose(load.logits, ref.logits.at(-1), 1e-3, `load ${i}: logits`);
    assertEqual(load.info.backend, 'webgpu', 'backend');
    assertEqual(load.modelId, url, 'modelId');
    assertEqual([load.progress.file, load.progress.loaded, load.progress.total], ['llama-f32.gguf', size, size], 'last progress');
  }
  assert(!out.loads[0].progress.cached && out.loads[1].progress.cached, 'progress says where the file came from');
  assertEqual(count('/models/llama-f32.gguf') - before, 1, 'requests over two loads');
  assertEqual(out.listed, { url, files: ['llama-f32.gguf'], bytes: size }, 'listed');
  assert(out.deleted && out.after === null, 'deleted');
});

test('gguf File/Blob: <input type=file> in a worker (FileReaderSync) and in the page, a FileList, a Blob', async () => {
  const ref = await reference('llama-f32');
  await page.evaluate(() => {
    document.querySelector('#pick')?.remove();
    document.body.insertAdjacentHTML('beforeend', '<input type="file" id="pick" multiple>');
  });
  await page.setInputFiles('#pick', join(ggufFixtures, 'llama-f32.gguf'));
  const out = await inPage(async (hearth, { url, ids }) => {
    const picked = document.querySelector('#pick').files;
    const run = async (source, options) => {
      const engine = await hearth.Engine.load(source, options);
      const result = await engine.generate({ ids, maxTokens: 16, temperature: 0, ignoreEos: true });
      const modelId = engine.modelId;
      await engine.dispose();
      return { ids: result.ids, modelId };
    };
    const blob = await (await fetch(url)).blob();
    // A Blob whose size says 3 GiB: the main thread must refuse it before reading anything.
    class Huge extends Blob { get size() { return 3 * 2 ** 30; } }
    let huge = null;
    try { await hearth.Engine.load(new Huge([blob]), { device: 'cpu' }); huge = 'loaded'; } catch (e) { huge = `${e.name}: ${e.message}`; }
    return {
      worker: await run(picked[0], { worker: true }),
      page: await run(picked[0], {}),
      fileList: await run(picked, { worker: true }),
      blob: await run(blob, { worker: true }),
      huge,
    };
  }, { url: `${base}/models/llama-f32.gguf`, ids: ref.prompt_ids });
  for (const label of ['worker', 'page', 'fileList', 'blob']) assertEqual(out[label].ids, ref.greedy_ids, `${label}: greedy ids`);
  assertEqual(out.worker.modelId, 'llama-f32.gguf', 'modelId of a File');
  assert(out.huge.startsWith('LoadError') && out.huge.includes('worker: true'), out.huge);
});

test('gguf with k-quants (Q2_K..Q6_K, IQ4_XS): greedy ids and logits equal the reference', async () => {
  const ref = await ggufReference('quant-k');
  const out = await inPage(async (hearth, { url, ids }) => {
    const engine = await hearth.Engine.load(url, { device: 'webgpu' });
    const result = await engine.generate({ ids, maxTokens: 16, temperature: 0, ignoreEos: true });
    const logits = Array.from(await engine.logits(ids));
    const info = engine.info();
    await engine.dispose();
    return { ids: result.ids, logits, info };
  }, { url: `${base}/models/quant-k.gguf`, ids: ref.prompt_ids });
  assertEqual(out.ids, ref.greedy_ids, 'greedy ids');
  assertClose(out.logits, ref.logits.at(-1), 1e-3, 'logits');
  assertEqual(out.info.backend, 'webgpu', 'backend');
});

test('options.quantize "q8_0": smaller weights, the q8_0 reference greedy ids and logits', async () => {
  const ref = await ggufReference('llama-f32.q8_0');
  const out = await inPage(async (hearth, { url, ids }) => {
    const results = {};
    for (const [label, options] of [['f32', { device: 'webgpu' }], ['q8_0', { device: 'webgpu', quantize: 'q8_0' }], ['worker', { device: 'webgpu', quantize: 'q8_0', worker: true }]]) {
      const engine = await hearth.Engine.load(url, options);
      const result = await engine.generate({ ids, maxTokens: 16, temperature: 0, ignoreEos: true });
      results[label] = { ids: result.ids, logits: Array.from(await engine.logits(ids)), info: engine.info() };
      await engine.dispose();
    }
    let bad = null;
    try { await hearth.Engine.load(url, { quantize: 'q3_x' }); } catch (e) { bad = e.name; }
    return { ...results, bad };
  }, { url: `${base}/models/llama-f32/`, ids: ref.prompt_ids });
  const [f32, q8] = [out.f32.info.weightsBytes, out.q8_0.info.weightsBytes];
  assert(q8 < f32 * 0.5, `weightsBytes: q8_0 ${q8} vs f32 ${f32}`);
  assertEqual(out.q8_0.ids, ref.greedy_ids, 'greedy ids');
  assertClose(out.q8_0.logits, ref.logits.at(-1), 1e-3, 'logits');
  assertEqual(out.worker.ids, ref.greedy_ids, 'worker: greedy ids');
  assertEqual(out.worker.info.weightsBytes, q8, 'worker: weightsBytes');
  assertEqual(out.bad, 'TypeError', 'an unknown quantize type');
});

test('a truncated, garbage or empty .gguf gives a ModelFormatError, and the engine still loads models', async () => {
  const ref = await reference('llama-f32');
  const out = await inPage(async (hearth, { urls, good, ids }) => {
    const errors = {};
    for (const [label, url] of Object.entries(urls)) {
      for (const worker of [false, true]) {
        try { await hearth.Engine.load(url, { worker }); errors[`${label}${worker ? ' (worker)' : ''}`] = 'loaded'; } catch (e) { errors[`${label}${worker ? ' (worker)' : ''}`] = `${e.name}: ${e.message}`; }
      }
    }
    const cached = (await hearth.listCachedModels()).filter((m) => Object.values(urls).includes(m.url));
    const engine = await hearth.Engine.load(good);
    const result = await engine.generate({ ids, maxTokens: 16, temperature: 0, ignoreEos: true });
    await engine.dispose();
    return { errors, cached, ids: result.ids };
  }, {
    urls: { truncated: `${base}/broken/truncated.gguf`, garbage: `${base}/broken/garbage.gguf`, empty: `${base}/broken/empty.gguf` },
    good: `${base}/models/llama-f32.gguf`,
    ids: ref.prompt_ids,
  });
  for (const [label, error] of Object.entries(out.errors)) {
    assert(error.startsWith('ModelFormatError: ') && error.includes('.gguf'), `${label}: ${error}`);
  }
  assertEqual(out.cached, [], 'corrupt downloads left in Cache Storage');
  assertEqual(out.ids, ref.greedy_ids, 'a good model after the failures');
});

test('webgpu: greedy ids equal the transformers reference (f32, sharded qwen2, bf16)', async () => {
  for (const model of ['llama-f32', 'qwen2-f32', 'llama-bf16']) {
    const ref = await reference(model);
    const out = await inPage(async (hearth, { url, ids }) => {
      const engine = await hearth.Engine.load(url, { device: 'webgpu' });
      const result = await engine.generate({ ids, maxTokens: 16, temperature: 0, ignoreEos: true });
      const info = engine.info();
      await engine.dispose();
      return { ids: result.ids, backend: info.backend, usage: result.usage };
    }, { url: `${base}/models/${model}/`, ids: ref.prompt_ids });
    assertEqual(out.backend, 'webgpu', `${model} backend`);
    assertEqual(out.ids, ref.greedy_ids, `${model} greedy ids`);
    assertEqual(out.usage, { promptTokens: ref.prompt_ids.length, completionTokens: 16 }, `${model} usage`);
  }
});

test('every decoder family (Gemma 1/2/3, OLMo 2, SmolLM3, Granite, Phi-3/4, GPT-2, sliding Mistral): greedy ids equal the reference on WebGPU and the CPU', async () => {
  const families = ['gemma-f32', 'gemma2-f32', 'gemma3-f32', 'olmo2-f32', 'smollm3-f32', 'granite-f32',
    'phi3-f32', 'phi4-f32', 'gpt2-f32', 'mistral-sliding-f32'];
  for (const model of families) {
    const ref = await reference(model);
    for (const device of ['webgpu', 'cpu']) {
      const out = await inPage(async (hearth, { url, ids, device, context }) => {
        const engine = await hearth.Engine.load(url, { device, context });
        const result = await engine.generate({ ids, maxTokens: 16, temperature: 0, ignoreEos: true });
        const info = engine.info();
        await engine.dispose();
        return { ids: result.ids, architecture: info.architecture };
      }, { url: `${base}/models/${model}/`, ids: ref.prompt_ids, device, context: ref.context });
      assertEqual(out.architecture, ref.architecture, `${model} architecture`);
      assertEqual(out.ids, ref.greedy_ids, `${model} greedy ids on ${device}`);
    }
  }
  // A family from llama.cpp's converter, by URL.
  const ref = await reference('gemma3-f32');
  const ids = await inPage(async (hearth, { url, ids }) => {
    const engine = await hearth.Engine.load(url, { device: 'webgpu' });
    const result = await engine.generate({ ids, maxTokens: 16, temperature: 0, ignoreEos: true });
    await engine.dispose();
    return result.ids;
  }, { url: `${base}/models/gemma3-f32.gguf`, ids: ref.prompt_ids });
  assertEqual(ids, ref.greedy_ids, 'gemma3-f32.gguf greedy ids');
});

test('webgpu: logits within 1e-3 of the reference', async () => {
  const ref = await reference('qwen3-f32');
  const logits = await inPage(async (hearth, { url, ids }) => {
    const engine = await hearth.Engine.load(url, { device: 'webgpu' });
    const logits = await engine.logits(ids);
    return { isFloat32: logits instanceof Float32Array, values: Array.from(logits) };
  }, { url: `${base}/models/qwen3-f32/`, ids: ref.prompt_ids });
  assert(logits.isFloat32, 'logits is a Float32Array');
  const expected = ref.logits.at(-1);
  assertEqual(logits.values.length, expected.length, 'vocab');
  const error = Math.max(...logits.values.map((v, i) => Math.abs(v - expected[i])));
  assert(error <= 1e-3, `max abs error ${error}`);
});

test('chat.completions.create: OpenAI shapes, streamed and not, and multi-turn cache reuse', async () => {
  const out = await inPage(async (hearth, { url }) => {
    const engine = await hearth.Engine.load(url, { device: 'webgpu' });
    const messages = [{ role: 'user', content: 'Tell me a story.' }];
    const chunks = [];
    for await (const chunk of await engine.chat.completions.create({ messages, stream: true, max_tokens: 8, seed: 3 })) chunks.push(chunk);
    const whole = await engine.chat.completions.create({ messages, max_tokens: 8, seed: 3 });
    // A second turn: the first turn's tokens are already in the KV cache.
    const first = await engine.generate({ messages, maxTokens: 6, temperature: 0, ignoreEos: true });
    const second = await engine.generate({
      messages: [...messages, { role: 'assistant', content: first.text }, { role: 'user', content: 'More.' }],
      maxTokens: 4, temperature: 0,
    });
    // After reset() nothing is reused: the whole prompt is prefilled.
    await engine.reset();
    const fresh = await engine.generate({ messages, maxTokens: 2, temperature: 0 });
    const info = engine.info();
    return { chunks, whole, second, fresh, info };
  }, { url: `${base}/models/llama-f32/` });
  const { chunks, whole, second, fresh, info } = out;
  assertEqual(fresh.timings.prefillTokens, fresh.usage.promptTokens, 'prefilled after reset()');
  assert(info.peakGpuBytes >= info.weightsBytes + info.kvCacheBytes + info.activationBytes && info.activationBytes > 0,
    `peak ${info.peakGpuBytes} B covers weights ${info.weightsBytes}, KV ${info.kvCacheBytes}, activations ${info.activationBytes}`);
  assert(chunks.length >= 3, `${chunks.length} chunks`);
  for (const chunk of chunks) {
    assertEqual(chunk.object, 'chat.completion.chunk', 'chunk object');
    assert(chunk.id === chunks[0].id && chunk.id.startsWith('chatcmpl-'), 'chunk ids');
    assert(typeof chunk.created === 'number' && typeof chunk.model === 'string', 'created/model');
    assertEqual(chunk.choices.length, 1, 'choices');
  }
  assertEqual(chunks[0].choices[0].delta.role, 'assistant', 'first delta role');
  const last = chunks.at(-1);
  assert(['stop', 'length'].includes(last.choices[0].finish_reason), 'last finish_reason');
  assert(chunks.slice(0, -1).every((c) => c.choices[0].finish_reason === null), 'finish_reason only at the end');
  assert(last.usage && last.usage.prompt_tokens > 0 && last.usage.total_tokens === last.usage.prompt_tokens + last.usage.completion_tokens, 'usage on the last chunk');
  const streamed = chunks.map((c) => c.choices[0].delta.content ?? '').join('');
  assertEqual(streamed, whole.choices[0].message.content, 'same seed, same text streamed or not');
  assertEqual(whole.object, 'chat.completion', 'object');
  assertEqual(whole.choices[0].message.role, 'assistant', 'message role');
  assert(second.timings.prefillTokens < second.usage.promptTokens, `second turn prefilled ${second.timings.prefillTokens} of ${second.usage.promptTokens} tokens`);
});

test('abort stops within one token with an AbortError, and the engine stays usable', async () => {
  const ref = await reference('llama-f32');
  const out = await inPage(async (hearth, { url, ids }) => {
    const engine = await hearth.Engine.load(url, { device: 'webgpu' });
    const controller = new AbortController();
    let seen = 0;
    let after = 0;
    let error = null;
    try {
      await engine.generate({
        ids, maxTokens: 200, temperature: 0, ignoreEos: true, signal: controller.signal,
        onToken: () => { seen += 1; if (controller.signal.aborted) after += 1; if (seen === 3) controller.abort(); },
      });
    } catch (e) {
      error = e.name;
    }
    const again = await engine.generate({ ids, maxTokens: 16, temperature: 0, ignoreEos: true });
    // Abort through stream(): breaking out of the loop stops generation too.
    let streamed = 0;
    for await (const token of engine.stream({ ids, maxTokens: 200, ignoreEos: true })) { streamed += 1; if (streamed === 2) break; }
    const third = await engine.generate({ ids, maxTokens: 16, temperature: 0, ignoreEos: true });
    return { error, seen, after, again: again.ids, third: third.ids };
  }, { url: `${base}/models/llama-f32/`, ids: ref.prompt_ids });
  assertEqual(out.error, 'AbortError', 'error name');
  assert(out.after <= 1, `${out.after} tokens after the abort`);
  assertEqual(out.again, ref.greedy_ids, 'generation after abort');
  assertEqual(out.third, ref.greedy_ids, 'generation after a stream was left early');
});

test('a second load is served from Cache Storage (no weight requests); cache list and delete', async () => {
  const url = `${base}/models/llama-f16/`;
  const weights = '/models/llama-f16/model.safetensors';
  const before = count(weights);
  const out = await inPage(async (hearth, { url }) => {
    const loads = [];
    for (let i = 0; i < 2; i++) {
      const progress = [];
      const engine = await hearth.Engine.load(url, { onProgress: (p) => progress.push(p) });
      loads.push(progress.filter((p) => p.file === 'model.safetensors').at(-1));
      await engine.dispose();
    }
    const listed = (await hearth.listCachedModels()).find((m) => m.url === url);
    const deleted = await hearth.deleteCachedModel(url);
    const after = (await hearth.listCachedModels()).find((m) => m.url === url);
    return { loads, listed, deleted, after: after ?? null };
  }, { url });
  assertEqual(count(weights) - before, 1, 'weight requests over two loads');
  assert(out.loads[0].cached === false && out.loads[1].cached === true, 'progress says where the file came from');
  assert(out.loads[0].loaded === out.loads[0].total && out.loads[0].total > 0, 'progress reaches the total');
  assert(out.listed && out.listed.files.includes('model.safetensors') && out.listed.bytes > 0, 'listed');
  assert(out.deleted && out.after === null, 'deleted');
});

test('device "cpu" gives the same greedy ids, and the quantized references\' ids and logits', async () => {
  const ref = await reference('mistral-f32');
  const out = await inPage(async (hearth, { url, ids }) => {
    const engine = await hearth.Engine.load(url, { device: 'cpu' });
    const result = await engine.generate({ ids, maxTokens: 16, temperature: 0, ignoreEos: true });
    return { ids: result.ids, backend: engine.info().backend };
  }, { url: `${base}/models/mistral-f32/`, ids: ref.prompt_ids });
  assertEqual(out.backend, 'cpu', 'backend');
  assertEqual(out.ids, ref.greedy_ids, 'greedy ids');
  // Q8_0 and Q4_0 stay quantized on the CPU and go through the wasm SIMD dot products.
  for (const quantize of ['q8_0', 'q4_0']) {
    const quantRef = await ggufReference(`llama-f32.${quantize}`);
    const quantized = await inPage(async (hearth, { url, ids, quantize }) => {
      const engine = await hearth.Engine.load(url, { device: 'cpu', quantize });
      const result = await engine.generate({ ids, maxTokens: 16, temperature: 0, ignoreEos: true });
      const logits = Array.from(await engine.logits(ids));
      await engine.dispose();
      return { ids: result.ids, logits };
    }, { url: `${base}/models/llama-f32/`, ids: quantRef.prompt_ids, quantize });
    assertEqual(quantized.ids, quantRef.greedy_ids, `${quantize}: greedy ids`);
    assertClose(quantized.logits, quantRef.logits.at(-1), 1e-3, `${quantize}: logits`);
  }
});

test('wasm modules: WebGPU fetches only the small module; the CPU device fetches the one with burn', async () => {
  const ref = await reference('llama-f32');
  const fresh = await context.newPage();
  await fresh.goto(`${base}/blank.html`);
  const out = await fresh.evaluate(async ({ url, ids }) => {
    const hearth = await import('/pkg/hearth.js');
    const fetched = () => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname).filter((p) => p.endsWith('.wasm'));
    const run = async (options) => {
      const engine = await hearth.Engine.load(url, options);
      const result = await engine.generate({ ids, maxTokens: 16, temperature: 0, ignoreEos: true });
      const backend = engine.info().backend;
      await engine.dispose();
      return { ids: result.ids, backend, wasm: fetched() };
    };
    return { gpu: await run({ device: 'webgpu' }), cpu: await run({ device: 'cpu' }) };
  }, { url: `${base}/models/llama-f32/`, ids: ref.prompt_ids });
  await fresh.close();
  assertEqual([out.gpu.backend, out.cpu.backend], ['webgpu', 'cpu'], 'backends');
  assertEqual(out.gpu.ids, ref.greedy_ids, 'webgpu: greedy ids');
  assertEqual(out.cpu.ids, ref.greedy_ids, 'cpu: greedy ids');
  assertEqual(out.gpu.wasm, ['/pkg/hearth_wasm_bg.wasm'], 'wasm fetched for webgpu');
  assertEqual(out.cpu.wasm, ['/pkg/hearth_wasm_bg.wasm', '/pkg/hearth_wasm_cpu_bg.wasm'], 'wasm fetched for cpu');
});

test('File objects (a folder the user picked) load in the page and in the worker', async () => {
  const ref = await reference('qwen2-f32');
  const out = await inPage(async (hearth, { url, ids, names }) => {
    const files = await Promise.all(names.map(async (name) =>
      new File([await (await fetch(url + name)).arrayBuffer()], name)));
    const results = [];
    for (const worker of [false, true]) {
      const engine = await hearth.Engine.load(files, { worker });
      results.push((await engine.generate({ ids, maxTokens: 16, temperature: 0, ignoreEos: true })).ids);
      await engine.dispose();
    }
    return results;
  }, {
    url: `${base}/models/qwen2-f32/`,
    ids: ref.prompt_ids,
    names: ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json',
      'model.safetensors.index.json', 'model-00001-of-00003.safetensors',
      'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors'],
  });
  assertEqual(out[0], ref.greedy_ids, 'in the page');
  assertEqual(out[1], ref.greedy_ids, 'in the worker');
});

test('without WebGPU the engine falls back to the CPU by itself', async () => {
  const ref = await reference('llama-f32');
  const bare = await context.newPage();
  // A browser without WebGPU: navigator.gpu is missing.
  await bare.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
    Object.defineProperty(WorkerNavigator.prototype, 'gpu', { get: () => undefined, configurable: true });
  });
  await bare.goto(`${base}/blank.html`);
  const out = await bare.evaluate(async ({ url, ids }) => {
    const hearth = await import('/pkg/hearth.js');
    const engine = await hearth.Engine.load(url);
    const result = await engine.generate({ ids, maxTokens: 16, temperature: 0, ignoreEos: true });
    const wasm = performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname).filter((p) => p.endsWith('.wasm'));
    let explicit = null;
    try { await hearth.Engine.load(url, { device: 'webgpu' }); } catch (e) { explicit = e.name; }
    return { backend: engine.info().backend, ids: result.ids, wasm, explicit };
  }, { url: `${base}/models/llama-f32/`, ids: ref.prompt_ids });
  await bare.close();
  assertEqual(out.backend, 'cpu', 'backend');
  assertEqual(out.ids, ref.greedy_ids, 'greedy ids');
  assertEqual(out.wasm, ['/pkg/hearth_wasm_cpu_bg.wasm'], 'wasm fetched (the CPU module only)');
  assertEqual(out.explicit, 'NoAdapterError', 'asking for webgpu explicitly');
});

test('without a device, a software WebGPU adapter is skipped for the CPU; a hardware one is used', async () => {
  const ref = await reference('llama-f32');
  const load = async (hardware) => {
    const tab = await context.newPage();
    // This Chromium's only adapter is SwiftShader, a fallback adapter; the second tab's page
    // (not its workers: init scripts do not reach them) is told it is a hardware one.
    if (hardware) {
      await tab.addInitScript(() => {
        Object.defineProperty(GPUAdapterInfo.prototype, 'isFallbackAdapter', { get: () => false, configurable: true });
      });
    }
    await tab.goto(`${base}/blank.html`);
    const runs = hardware ? [['page', {}]] : [['page', {}], ['worker', { worker: true }], ['explicit', { device: 'webgpu' }]];
    const out = await tab.evaluate(async ({ url, ids, runs }) => {
      const hearth = await import('/pkg/hearth.js');
      const fallback = (await navigator.gpu.requestAdapter()).info.isFallbackAdapter;
      const results = {};
      for (const [label, options] of runs) {
        const engine = await hearth.Engine.load(url, options);
        const { backend, skippedAdapter } = engine.info();
        results[label] = { backend, skippedAdapter: skippedAdapter ?? null, ids: (await engine.generate({ ids, maxTokens: 16, temperature: 0, ignoreEos: true })).ids };
        await engine.dispose();
      }
      return { fallback, results };
    }, { url: `${base}/models/llama-f32/`, ids: ref.prompt_ids, runs });
    await tab.close();
    return out;
  };
  const software = await load(false);
  assertEqual(software.fallback, true, 'SwiftShader is a fallback adapter');
  assertEqual(software.results.page.backend, 'cpu', 'default backend on a software adapter');
  assert(/swiftshader/.test(software.results.page.skippedAdapter), `skippedAdapter: ${software.results.page.skippedAdapter}`);
  assertEqual(software.results.worker.backend, 'cpu', 'default backend in a worker');
  assertEqual([software.results.explicit.backend, software.results.explicit.skippedAdapter], ['webgpu', null], 'device: webgpu still uses it');
  const hardware = await load(true);
  assertEqual(hardware.fallback, false, 'the adapter passed off as hardware');
  assertEqual([hardware.results.page.backend, hardware.results.page.skippedAdapter], ['webgpu', null], 'default backend on a hardware adapter');
  for (const { results } of [software, hardware]) {
    for (const [label, result] of Object.entries(results)) assertEqual(result.ids, ref.greedy_ids, `${label}: greedy ids`);
  }
});

test('a missing or corrupt model file gives a named error, not a hang', async () => {
  const out = await inPage(async (hearth, { missing, truncated }) => {
    const attempt = async (url) => {
      try { await hearth.Engine.load(url); return 'loaded'; } catch (e) { return `${e.name}: ${e.message}`; }
    };
    return { missing: await attempt(missing), truncated: await attempt(truncated) };
  }, { missing: `${base}/broken-missing/`, truncated: `${base}/broken-truncated/` });
  assert(out.missing.startsWith('LoadError') && out.missing.includes('config.json'), out.missing);
  assert(out.truncated.startsWith('ModelFormatError') && out.truncated.includes('model.safetensors'), out.truncated);
});

test('worker: same API, same greedy ids, streaming and abort', async () => {
  const ref = await reference('qwen3-f32');
  const out = await inPage(async (hearth, { url, ids }) => {
    const engine = await hearth.Engine.load(url, { worker: true, device: 'webgpu' });
    const result = await engine.generate({ ids, maxTokens: 16, temperature: 0, ignoreEos: true });
    const streamed = [];
    for await (const token of engine.stream({ ids, maxTokens: 5, temperature: 0, ignoreEos: true })) streamed.push(token.id);
    const controller = new AbortController();
    let error = null;
    let seen = 0;
    try {
      await engine.generate({ ids, maxTokens: 200, ignoreEos: true, signal: controller.signal, onToken: () => { seen += 1; if (seen === 2) controller.abort(); } });
    } catch (e) { error = e.name; }
    await engine.reset();
    const chunks = [];
    for await (const c of await engine.chat.completions.create({ messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: 4 })) chunks.push(c);
    const info = engine.info();
    await engine.dispose();
    return { ids: result.ids, streamed, error, seen, backend: info.backend, chunks: chunks.length };
  }, { url: `${base}/models/qwen3-f32/`, ids: ref.prompt_ids });
  assertEqual(out.ids, ref.greedy_ids, 'greedy ids');
  assertEqual(out.streamed, ref.greedy_ids.slice(0, 5), 'streamed ids');
  assertEqual(out.error, 'AbortError', 'abort');
  assert(out.seen < 10, `${out.seen} tokens before the abort landed`);
  assertEqual(out.backend, 'webgpu', 'backend');
  assert(out.chunks >= 2, 'chunks');
});

test('embeddings: embed() and embeddings.create() match sentence-transformers (webgpu, cpu, worker)', async () => {
  const ref = await reference('bert-tiny');
  const out = await inPage(async (hearth, { url, texts }) => {
    const results = {};
    for (const [label, options] of [['webgpu', { device: 'webgpu' }], ['cpu', { device: 'cpu' }], ['worker', { worker: true }]]) {
      const engine = await hearth.Engine.load(url, options);
      const vectors = await engine.embed(texts);
      results[label] = vectors.map((v) => Array.from(v));
      if (label === 'webgpu') {
        results.isFloat32 = vectors.every((v) => v instanceof Float32Array);
        results.created = await engine.embeddings.create({ input: texts.slice(0, 2) });
        results.single = await engine.embeddings.create({ input: texts[0] });
        results.info = engine.info();
        try { await engine.generate({ prompt: 'hi' }); } catch (e) { results.generateError = e.name; }
      }
      await engine.dispose();
    }
    return results;
  }, { url: `${base}/models/bert-tiny/`, texts: ref.texts });
  for (const label of ['webgpu', 'cpu', 'worker']) {
    out[label].forEach((vector, i) => {
      const error = Math.max(...vector.map((v, j) => Math.abs(v - ref.embeddings[i][j])));
      assert(error <= 1e-4, `${label}: text ${i}: max abs error ${error}`);
    });
  }
  assert(out.isFloat32, 'embed() returns Float32Arrays');
  const { created, single, info } = out;
  assertEqual(created.object, 'list', 'object');
  assertEqual(created.data.map((d) => [d.object, d.index]), [['embedding', 0], ['embedding', 1]], 'data');
  assert(created.data[0].embedding.length === ref.embeddings[0].length, 'embedding length');
  assert(created.usage.prompt_tokens === ref.ids[0].length + ref.ids[1].length && created.usage.total_tokens === created.usage.prompt_tokens, `usage ${JSON.stringify(created.usage)}`);
  assertEqual(single.data.length, 1, 'a string input');
  assertEqual(info.task, 'embeddings', 'info task');
  assertEqual(out.generateError, 'TypeError', 'generate() on an embedding model');
});

test('search demo: embeds paragraphs in a worker and ranks an exact match first', async () => {
  const demo = await context.newPage();
  await demo.goto(`${base}/search.html`);
  await demo.waitForFunction(() => document.querySelector('#served').options.length > 0);
  await demo.selectOption('#served', `${base}/models/bert-tiny/`);
  await demo.click('#index');
  await demo.waitForSelector('#status[data-ready]', { timeout: 60_000 });
  const paragraph = 'A transformer model attends to every token of its input at once.';
  await demo.fill('#query', paragraph);
  await demo.click('#search');
  await demo.waitForSelector('#results[data-query]');
  const first = await demo.textContent('#results li:first-child');
  const count = await demo.locator('#results li').count();
  await demo.screenshot({ path: join(repo, 'artifacts/search.png'), fullPage: true });
  await demo.close();
  assertEqual(count, 8, 'ranked paragraphs');
  assert(first.startsWith('1.000') && first.endsWith(paragraph), first);
});

test('demo page: loads a model in a worker and streams a reply (screenshot in artifacts/)', async () => {
  const demo = await context.newPage();
  const foreign = [];
  demo.on('request', (request) => { if (!request.url().startsWith(base)) foreign.push(request.url()); });
  await demo.goto(`${base}/`);
  await demo.waitForFunction(() => document.querySelector('#served').options.length > 1);
  await demo.selectOption('#served', `${base}/models/llama-f32/`);
  await demo.click('#load');
  await demo.waitForSelector('#status[data-backend]', { timeout: 60_000 });
  await demo.fill('#prompt', 'Once upon a time');
  await demo.click('#send');
  await demo.waitForSelector('.assistant[data-done="true"]', { timeout: 60_000 });
  const reply = await demo.textContent('.assistant');
  const status = await demo.textContent('#status');
  const speed = await demo.textContent('#speed');
  await mkdir(join(repo, 'artifacts'), { recursive: true });
  await demo.screenshot({ path: join(repo, 'artifacts/demo.png'), fullPage: true });
  await demo.close();
  assert(reply.length > 0, 'a reply was streamed');
  // The demo asks for no device: on this software adapter it runs on the CPU and says why.
  assert(status.includes('on cpu') && status.includes('swiftshader'), status);
  assert(/tokens\/s/.test(speed), speed);
  assertEqual(foreign, [], 'requests to other hosts');
});

let passed = 0;
let failed = 0;
const only = process.argv[2];
for (const { name, fn } of tests) {
  if (only && !name.includes(only)) continue;
  const started = Date.now();
  try {
    await Promise.race([fn(), new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 180 s')), 180_000))]);
    passed += 1;
    console.log(`ok - ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (error) {
    failed += 1;
    console.log(`not ok - ${name}\n  ${String(error.stack ?? error).split('\n').slice(0, 4).join('\n  ')}`);
  }
}
await browser.close();
server.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
