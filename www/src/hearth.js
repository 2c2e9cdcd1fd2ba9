// hearth: the public JavaScript API. Runs models with WebGPU (or the CPU fallback) entirely in
// the page or in a Web Worker; model files come from a URL (kept in Cache Storage) or from
// File objects the user picked. Nothing is sent anywhere.

const CACHE_NAME = 'hearth-models-v1';

// Two builds of the engine. `hearth_wasm` is the WebGPU engine alone; `hearth_wasm_cpu` adds
// burn's CPU backend (and its size), so it is fetched only when a model runs on the CPU: asked
// for, or as the fallback where WebGPU is missing or fails. Literal import paths, so bundlers
// see both files.
const wasmModules = {};
async function instantiate(glue, wasm) {
  const module = await glue;
  await module.default({ module_or_path: new URL(wasm, import.meta.url) });
  return module;
}

/** Loads (once) and returns the wasm module that runs on `device` ('webgpu' or 'cpu'). */
function initialize(device = 'webgpu') {
  if (device === 'cpu') {
    wasmModules.cpu ??= instantiate(import('./hearth_wasm_cpu.js'), './hearth_wasm_cpu_bg.wasm');
    return wasmModules.cpu;
  }
  wasmModules.webgpu ??= instantiate(import('./hearth_wasm.js'), './hearth_wasm_bg.wasm');
  return wasmModules.webgpu;
}

function namedError(name, message) {
  const error = new Error(message);
  error.name = name;
  return error;
}

function abortError() {
  return namedError('AbortError', 'generation aborted');
}

// A macrotask boundary (not a microtask), so abort messages and rendering get a turn between
// tokens even when generation is CPU-bound.
const yieldChannel = new MessageChannel();
const yieldWaiters = [];
yieldChannel.port1.onmessage = () => yieldWaiters.shift()?.();
function yieldNow() {
  return new Promise((resolve) => {
    yieldWaiters.push(resolve);
    yieldChannel.port2.postMessage(0);
  });
}

// ---------------------------------------------------------------------------------------------
// Model files
//
// Every file is kept as a Blob: a File the user picked, or a download streamed into Cache
// Storage and read back as a disk-backed Blob. A Blob is never read into one ArrayBuffer where
// that can be avoided (browsers cap one at about 2 GB): in a worker, `read` slices it with
// FileReaderSync; the main thread has no synchronous Blob reads, so there a file is read whole,
// up to IN_MEMORY_LIMIT bytes.

const IN_MEMORY_LIMIT = 2 ** 30;

async function openCache() {
  try {
    return typeof caches === 'undefined' ? null : await caches.open(CACHE_NAME);
  } catch {
    return null; // Cache Storage is unavailable (insecure context, private mode): no caching.
  }
}

function isGgufUrl(url) {
  return new URL(url).pathname.toLowerCase().endsWith('.gguf');
}

function isGgufName(name) {
  return name.toLowerCase().endsWith('.gguf');
}

async function request(url) {
  try {
    return await fetch(url);
  } catch (error) {
    throw namedError('LoadError', `${url}: ${error.message}`);
  }
}

/** The response's body, counting bytes into `report(loaded, total)` as they pass. */
function countedBody(response, report) {
  // With a content-encoding the header counts compressed bytes: `total` then grows with `loaded`.
  const total = Number(response.headers.get('content-length')) || 0;
  let loaded = 0;
  return response.body.pipeThrough(new TransformStream({
    transform(chunk, controller) {
      loaded += chunk.byteLength;
      report(loaded, Math.max(total, loaded));
      controller.enqueue(chunk);
    },
  }));
}

/**
 * The body of `response` as a Blob, streamed (never held whole in JS) into Cache Storage under
 * `url` and read back from there; without a cache, or when storing fails (a full quota), a Blob
 * made by the browser, which keeps a large one on disk.
 */
async function storeBody(cache, url, response, report) {
  if (cache && response.body) {
    const headers = { 'content-type': 'application/octet-stream' };
    const length = response.headers.get('content-length');
    if (length && !response.headers.get('content-encoding')) headers['content-length'] = length;
    try {
      await cache.put(url, new Response(countedBody(response, report), { headers }));
      const stored = await cache.match(url);
      if (stored) return await stored.blob();
    } catch {
      // The body is spent: download it again below, without the cache.
    }
    await cache.delete(url).catch(() => {});
    response = await request(url);
    if (!response.ok) throw namedError('LoadError', `${url}: HTTP ${response.status} ${response.statusText}`);
  }
  try {
    return response.body ? await new Response(countedBody(response, report)).blob() : await response.blob();
  } catch (error) {
    throw namedError('LoadError', `${url}: download failed: ${error.message}`);
  }
}

/** Fetches `url` through Cache Storage as a Blob. Returns null for an optional file that is missing. */
async function fetchFile(cache, url, name, { optional = false, onProgress } = {}) {
  const cached = cache && (await cache.match(url).catch(() => undefined));
  if (cached) {
    const blob = await cached.blob();
    onProgress?.({ file: name, loaded: blob.size, total: blob.size, cached: true });
    return blob;
  }
  const response = await request(url);
  if (response.status === 404 && optional) return null;
  if (!response.ok) throw namedError('LoadError', `${url}: HTTP ${response.status} ${response.statusText}`);
  const report = (loaded, total) => onProgress?.({ file: name, loaded, total, cached: false });
  const blob = await storeBody(cache, url, response, report);
  report(blob.size, blob.size);
  return blob;
}

const OPTIONAL_FILES = ['tokenizer_config.json', 'generation_config.json', 'modules.json', 'sentence_bert_config.json'];

async function decodeJson(blob, label) {
  try {
    return JSON.parse(await blob.text());
  } catch (error) {
    throw namedError('ModelFormatError', `${label}: malformed JSON: ${error.message}`);
  }
}

/**
 * A model's files: `files` (name -> Blob), `describe(name)` for messages, `cacheKeys` (the
 * Cache Storage entries it came from) and `id` (the model id the engine reports).
 */
function collection(files, describe, id, cacheKeys = []) {
  return { files, describe, id, cacheKeys };
}

/** Collects a model folder's files from its base URL. */
async function filesFromUrl(base, onProgress) {
  if (!base.endsWith('/')) base += '/';
  const cache = await openCache();
  const files = new Map();
  const get = async (name, optional = false) => {
    const blob = await fetchFile(cache, new URL(name, base).href, name, { optional, onProgress });
    if (blob) files.set(name, blob);
    return blob;
  };
  await Promise.all([get('config.json'), get('tokenizer.json'), ...OPTIONAL_FILES.map((n) => get(n, true))]);
  // sentence-transformers modules keep their settings in subfolders (1_Pooling/config.json).
  if (files.has('modules.json')) {
    const modules = await decodeJson(files.get('modules.json'), `${base}modules.json`);
    const paths = Array.isArray(modules) ? modules.map((m) => m.path).filter((p) => typeof p === 'string' && p) : [];
    await Promise.all(paths.map((path) => get(`${path}/config.json`, true)));
  }
  if (!(await get('model.safetensors', true))) {
    const index = await get('model.safetensors.index.json', true);
    if (!index) {
      throw namedError('LoadError', `${base}: neither model.safetensors nor model.safetensors.index.json was found`);
    }
    const map = (await decodeJson(index, `${base}model.safetensors.index.json`)).weight_map ?? {};
    for (const shard of [...new Set(Object.values(map))].sort()) await get(shard);
  }
  const cacheKeys = cache ? [...files.keys()].map((n) => new URL(n, base).href) : [];
  return collection(files, (name) => new URL(name, base).href, base, cacheKeys);
}

/** One `.gguf` file from its URL. */
async function fileFromGgufUrl(url, onProgress) {
  const cache = await openCache();
  const name = decodeURIComponent(new URL(url).pathname.split('/').pop());
  const blob = await fetchFile(cache, url, name, { onProgress });
  return collection(new Map([[name, blob]]), () => url, url, cache ? [url] : []);
}

/** One `.gguf` file the user picked or dropped (a File, or any Blob). */
function fileFromBlob(blob, onProgress) {
  const label = blob.name || 'model.gguf';
  const name = isGgufName(label) ? label : 'model.gguf';
  onProgress?.({ file: name, loaded: blob.size, total: blob.size, cached: false });
  return collection(new Map([[name, blob]]), () => `local file ${label}`, label);
}

/** Files the user picked: a folder (`webkitdirectory`), or a list holding one `.gguf`. */
function filesFromFileList(list, onProgress) {
  const files = new Map();
  for (const file of list) {
    if (!(file instanceof Blob)) throw namedError('TypeError', 'a model source list must hold File objects');
    // Paths relative to the picked folder, so module subfolders (1_Pooling/) keep their names.
    const name = file.webkitRelativePath ? file.webkitRelativePath.split('/').slice(1).join('/') : file.name;
    onProgress?.({ file: name, loaded: file.size, total: file.size, cached: false });
    files.set(name, file);
  }
  const ggufs = [...files.keys()].filter(isGgufName);
  const id = !files.has('config.json') && ggufs.length === 1 ? ggufs[0] : 'local files';
  return collection(files, (name) => (name ? `local file ${name}` : 'local files'), id);
}

/** Collects the files of any accepted `source` (see `Engine.load`). */
function collectFiles(source, onProgress) {
  if (typeof source === 'string' || source instanceof URL) {
    const url = new URL(source, globalThis.location?.href).href;
    return isGgufUrl(url) ? fileFromGgufUrl(url, onProgress) : filesFromUrl(url, onProgress);
  }
  if (source instanceof Blob) return fileFromBlob(source, onProgress);
  if (source && typeof source[Symbol.iterator] === 'function') return filesFromFileList(Array.from(source), onProgress);
  throw namedError('TypeError', 'Engine.load: `source` must be a URL, a File or Blob, or a list of Files');
}

function gigabytes(bytes) {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

/**
 * The object the wasm side reads files through (`list`, `has`, `size`, `read(name, offset,
 * length)` -> Uint8Array, synchronously, `describe`), one tensor at a time.
 */
async function wasmSource({ files, describe }) {
  const readers = new Map();
  if (typeof FileReaderSync !== 'undefined') {
    // A worker: read only the requested slice of each Blob.
    const reader = new FileReaderSync();
    for (const [name, blob] of files) {
      readers.set(name, (offset, length) => new Uint8Array(reader.readAsArrayBuffer(blob.slice(offset, offset + length))));
    }
  } else {
    for (const [name, blob] of files) {
      if (blob.size > IN_MEMORY_LIMIT) {
        throw namedError('LoadError', `${describe(name)} is ${gigabytes(blob.size)}: on the main thread a model `
          + `file is read whole and may be at most ${gigabytes(IN_MEMORY_LIMIT)}. Load it in a Web Worker, `
          + 'which reads it in slices: Engine.load(source, { worker: true })');
      }
    }
    for (const [name, blob] of files) {
      const bytes = new Uint8Array(await blob.arrayBuffer());
      readers.set(name, (offset, length) => bytes.subarray(offset, offset + length));
    }
  }
  return {
    list: () => [...files.keys()],
    describe,
    has: (name) => files.has(name),
    size: (name) => files.get(name).size,
    read: (name, offset, length) => readers.get(name)(offset, length),
  };
}

/** A cached file that is a whole model by itself (a `.gguf`), rather than part of a folder. */
function cachedModelOf(url) {
  if (isGgufUrl(url)) return { url, file: decodeURIComponent(new URL(url).pathname.split('/').pop()) };
  const base = url.slice(0, url.lastIndexOf('/') + 1);
  return { url: base, file: url.slice(base.length) };
}

/** The models in Cache Storage: `[{url, files, bytes}]`; a `.gguf` is listed by its own URL. */
export async function listCachedModels() {
  const cache = await openCache();
  if (!cache) return [];
  const models = new Map();
  for (const request of await cache.keys()) {
    const { url, file } = cachedModelOf(request.url);
    const entry = models.get(url) ?? { url, files: [], bytes: 0 };
    const response = await cache.match(request);
    entry.files.push(file);
    const length = Number(response?.headers.get('content-length'));
    entry.bytes += length || (response ? (await response.blob()).size : 0);
    models.set(url, entry);
  }
  return [...models.values()];
}

/** Deletes a model from Cache Storage: a folder by its base URL, or a `.gguf` by its URL. */
export async function deleteCachedModel(url) {
  const cache = await openCache();
  if (!cache) return false;
  url = new URL(url, globalThis.location?.href).href;
  if (isGgufUrl(url)) return cache.delete(url);
  const base = url.endsWith('/') ? url : `${url}/`;
  let deleted = false;
  for (const request of await cache.keys()) {
    // A .gguf is a model of its own, even when it sits under a folder's URL.
    if (request.url.startsWith(base) && !isGgufUrl(request.url)) deleted = (await cache.delete(request)) || deleted;
  }
  return deleted;
}

// ---------------------------------------------------------------------------------------------
// The API shared by the in-page engine and the worker proxy

function toRequest(options) {
  const request = {
    maxTokens: options.maxTokens,
    temperature: options.temperature,
    topK: options.topK,
    topP: options.topP,
    minP: options.minP,
    repetitionPenalty: options.repetitionPenalty,
    seed: options.seed,
    stop: options.stop === undefined ? [] : [].concat(options.stop),
    ignoreEos: Boolean(options.ignoreEos),
  };
  if (options.messages) request.messages = options.messages.map(plainMessage);
  else if (options.ids) request.ids = Array.from(options.ids, Number);
  else request.prompt = options.prompt;
  for (const key of Object.keys(request)) if (request[key] === undefined) delete request[key];
  return request;
}

function plainMessage({ role, content }) {
  // OpenAI content may be a list of parts; text parts are what a text model can read.
  const text = Array.isArray(content)
    ? content.filter((p) => p.type === 'text').map((p) => p.text).join('')
    : String(content ?? '');
  return { role, content: text };
}

function resultOf(out) {
  return {
    ids: Array.from(out.ids),
    text: out.text,
    finishReason: out.finishReason,
    usage: { promptTokens: out.promptTokens, completionTokens: out.completionTokens },
    timings: out.timings,
  };
}

class EngineApi {
  constructor() {
    this.chat = { completions: { create: (params) => this.#createChatCompletion(params) } };
    this.embeddings = { create: (params) => this.#createEmbeddings(params) };
  }

  /** One Float32Array per text (for embedding models). */
  embed(texts) {
    return this._embed(Array.from(texts, String));
  }

  async #createEmbeddings({ input, encoding_format: format = 'float' }) {
    const texts = typeof input === 'string' ? [input] : Array.from(input, String);
    const [vectors, counts] = await Promise.all([this._embed(texts), this._countTokens(texts)]);
    const encode = (vector) => {
      if (format !== 'base64') return Array.from(vector);
      const bytes = new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength);
      let binary = '';
      for (const byte of bytes) binary += String.fromCharCode(byte);
      return btoa(binary);
    };
    const tokens = counts.reduce((a, b) => a + b, 0);
    return {
      object: 'list',
      data: vectors.map((vector, index) => ({ object: 'embedding', embedding: encode(vector), index })),
      model: this.modelId,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
  }

  /** Generates text: resolves to `{ids, text, finishReason, usage, timings}`. */
  generate(options = {}) {
    return this._generate(toRequest(options), options.signal, options.onToken);
  }

  /** Yields `{id, text}` for each generated token. */
  async *stream(options = {}) {
    const controller = new AbortController();
    const forward = () => controller.abort();
    options.signal?.addEventListener('abort', forward);
    if (options.signal?.aborted) controller.abort();
    const pending = [];
    let wake = null;
    let finished = false;
    let failure = null;
    const done = this._generate(toRequest(options), controller.signal, (token) => {
      pending.push(token);
      wake?.();
    }).then(
      (result) => { finished = true; wake?.(); return result; },
      (error) => { finished = true; failure = error; wake?.(); },
    );
    try {
      for (;;) {
        if (pending.length) {
          yield pending.shift();
        } else if (finished) {
          if (failure) throw failure;
          return await done;
        } else {
          await new Promise((resolve) => { wake = resolve; });
          wake = null;
        }
      }
    } finally {
      options.signal?.removeEventListener('abort', forward);
      if (!finished) {
        controller.abort(); // The consumer stopped early.
        await done;
      }
    }
  }

  async #createChatCompletion(params) {
    const id = `chatcmpl-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
    const created = Math.floor(Date.now() / 1000);
    const model = this.modelId;
    const options = {
      messages: params.messages,
      maxTokens: params.max_completion_tokens ?? params.max_tokens,
      temperature: params.temperature ?? 1,
      topP: params.top_p,
      topK: params.top_k,
      minP: params.min_p,
      repetitionPenalty: params.repetition_penalty,
      seed: params.seed,
      stop: params.stop ?? undefined,
      ignoreEos: params.ignore_eos,
      signal: params.signal,
    };
    const usageOf = (result) => ({
      prompt_tokens: result.usage.promptTokens,
      completion_tokens: result.usage.completionTokens,
      total_tokens: result.usage.promptTokens + result.usage.completionTokens,
    });
    if (!params.stream) {
      const result = await this.generate(options);
      return {
        id, object: 'chat.completion', created, model,
        choices: [{
          index: 0,
          message: { role: 'assistant', content: result.text },
          logprobs: null,
          finish_reason: result.finishReason,
        }],
        usage: usageOf(result),
      };
    }
    const chunk = (delta, finishReason, extra = {}) => ({
      id, object: 'chat.completion.chunk', created, model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...extra,
    });
    const self = this;
    return (async function* chunks() {
      yield chunk({ role: 'assistant', content: '' }, null);
      const tokens = self.stream(options);
      let step;
      while (!(step = await tokens.next()).done) {
        if (step.value.text) yield chunk({ content: step.value.text }, null);
      }
      const result = step.value;
      yield chunk({}, result.finishReason, { usage: usageOf(result) });
    })();
  }
}

// ---------------------------------------------------------------------------------------------
// In-page engine

/**
 * The browser's WebGPU adapter as `{name, software}`, or null where there is none. `name` is
 * "vendor architecture description" (wasm sees an empty description); `software` marks a
 * fallback adapter such as SwiftShader, on which the CPU engine decodes ~14x faster
 * (BENCHMARKS.md).
 */
async function describeAdapter() {
  const adapter = await globalThis.navigator?.gpu?.requestAdapter().catch(() => null);
  if (!adapter) return null;
  const info = adapter.info ?? {};
  const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ');
  // Newer browsers report it on the adapter's info, older ones on the adapter.
  return { name, software: Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter) };
}

/**
 * The devices to try, in order: the caller's, else WebGPU on a hardware adapter (falling back
 * to the CPU), else the CPU.
 */
function devicesFor(requested, adapter) {
  if (requested) return [requested];
  return adapter && !adapter.software ? ['webgpu', 'cpu'] : ['cpu'];
}

export class Engine extends EngineApi {
  #wasm;
  #queue = Promise.resolve();
  #info;

  constructor(wasm, modelId) {
    super();
    this.#wasm = wasm;
    this.modelId = modelId;
    this.#info = wasm.info();
  }

  /**
   * Loads a model. `source`: the base URL of a model folder, the URL of a `.gguf` file, a File or
   * Blob holding a `.gguf`, or a list of Files (a picked folder, or one `.gguf`).
   * `options`: `{device: 'webgpu' | 'cpu', context, quantize: 'q8_0' | 'q4_0',
   * onProgress({file, loaded, total, cached}), worker}`; without `device`, see `devicesFor`.
   */
  static async load(source, options = {}) {
    if (options.worker) return WorkerEngine.load(source, options);
    const collected = await collectFiles(source, options.onProgress);
    const files = await wasmSource(collected);
    // Asked for once: to choose the device and to name the adapter in `info()`.
    const adapter = options.device === 'cpu' ? null : await describeAdapter();
    let lastError;
    for (const device of devicesFor(options.device, adapter)) {
      try {
        const { WasmEngine } = await initialize(device);
        const wasm = await WasmEngine.load(files, { device, context: options.context, quantize: options.quantize }, yieldNow);
        const engine = new Engine(wasm, typeof source === 'string' ? source : collected.id);
        if (device === 'webgpu' && adapter?.name) engine.#info.adapter = adapter.name;
        if (device === 'cpu' && adapter?.software) engine.#info.skippedAdapter = adapter.name || 'a software adapter';
        return engine;
      } catch (error) {
        lastError = error;
        // Only a failing GPU falls back to the CPU; a broken model fails everywhere.
        if (!['NoAdapterError', 'DeviceError', 'DeviceLimitError'].includes(error.name)) break;
      }
    }
    if (lastError?.name === 'ModelFormatError') {
      // Do not keep serving a corrupt download from the cache.
      const cache = await openCache();
      await Promise.all(collected.cacheKeys.map((key) => cache?.delete(key)));
    }
    throw lastError;
  }

  #run(task) {
    const result = this.#queue.then(task);
    this.#queue = result.catch(() => {});
    return result;
  }

  _generate(request, signal, onToken) {
    return this.#run(async () => {
      if (signal?.aborted) throw abortError();
      const out = await this.#wasm.generate(request, (id, text) => {
        onToken?.({ id, text });
        return !signal?.aborted;
      });
      this.#refreshMemory();
      return resultOf(out);
    });
  }

  /** The last position's logits for `ids`, as a Float32Array. */
  logits(ids) {
    return this.#run(() => this.#wasm.logits(Uint32Array.from(ids)));
  }

  _embed(texts) {
    return this.#run(() => this.#wasm.embed(texts));
  }

  async _countTokens(texts) {
    return texts.map((text) => this.#wasm.tokenize(text, true).length);
  }

  /** `{backend, adapter, features, weightsBytes, kvCacheBytes, architecture, ...}`. */
  info() {
    return { ...this.#info };
  }

  tokenize(text, addSpecialTokens = true) {
    return Array.from(this.#wasm.tokenize(text, addSpecialTokens));
  }

  /** Forgets the KV cache, so the next request prefills its whole prompt (by default a request
   * reuses the longest prefix it shares with the previous one). */
  reset() {
    return this.#run(() => this.#wasm.reset());
  }

  /** Activation and peak GPU bytes change as requests run; the rest of `info()` does not. */
  #refreshMemory() {
    const { activationBytes, peakGpuBytes } = this.#wasm.info();
    Object.assign(this.#info, { activationBytes, peakGpuBytes });
  }

  /** Frees the model and its GPU memory. */
  dispose() {
    return this.#run(() => this.#wasm.dispose());
  }
}

// ---------------------------------------------------------------------------------------------
// The same API, with the engine in a Web Worker

class WorkerEngine extends EngineApi {
  #worker;
  #next = 1;
  #calls = new Map();
  #info;

  static async load(source, options) {
    const given = source;
    // Strings resolve against the page, not the worker script; Files and Blobs are cloned
    // (the worker reads the same underlying data, not a copy).
    if (typeof source === 'string' || source instanceof URL) source = new URL(source, globalThis.location?.href).href;
    else if (!(source instanceof Blob) && source && typeof source[Symbol.iterator] === 'function') source = Array.from(source);
    const engine = new WorkerEngine(new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }));
    const { onProgress, worker: _, ...rest } = options;
    try {
      const loaded = await engine.#call('load', { source, options: rest }, { onProgress });
      engine.#info = loaded.info;
      engine.modelId = typeof given === 'string' ? given : loaded.modelId;
    } catch (error) {
      engine.#worker.terminate();
      throw error;
    }
    return engine;
  }

  constructor(worker) {
    super();
    this.#worker = worker;
    worker.onmessage = ({ data }) => {
      const call = this.#calls.get(data.id);
      if (!call) return;
      if (data.progress) call.onProgress?.(data.progress);
      else if (data.token) call.onToken?.(data.token);
      else {
        this.#calls.delete(data.id);
        if (data.error) call.reject(namedError(data.error.name, data.error.message));
        else call.resolve(data.result);
      }
    };
    worker.onerror = (event) => {
      for (const call of this.#calls.values()) call.reject(namedError('WorkerError', event.message || 'worker failed'));
      this.#calls.clear();
    };
  }

  #call(method, args, handlers = {}) {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#calls.set(id, { resolve, reject, ...handlers });
      this.#worker.postMessage({ id, method, args });
      handlers.signal?.addEventListener('abort', () => this.#worker.postMessage({ id: 0, method: 'abort', args: { target: id } }));
    });
  }

  async _generate(request, signal, onToken) {
    if (signal?.aborted) throw abortError();
    return this.#call('generate', { request }, { onToken, signal });
  }

  logits(ids) {
    return this.#call('logits', { ids: Array.from(ids) });
  }

  _embed(texts) {
    return this.#call('embed', { texts });
  }

  _countTokens(texts) {
    return this.#call('countTokens', { texts });
  }

  info() {
    return { ...this.#info };
  }

  reset() {
    return this.#call('reset', {});
  }

  async dispose() {
    await this.#call('dispose', {});
    this.#worker.terminate();
  }
}

export { initialize };
