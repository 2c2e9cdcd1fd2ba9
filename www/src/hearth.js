// hearth: the public JavaScript API. Runs models with WebGPU (or the CPU fallback) entirely in
// the page or in a Web Worker; model files come from a URL (kept in Cache Storage) or from
// File objects the user picked. Nothing is sent anywhere.

import initWasm, { WasmEngine } from './hearth_wasm.js';

const CACHE_NAME = 'hearth-models-v1';

let wasmReady;
function initialize() {
  wasmReady ??= initWasm({ module_or_path: new URL('./hearth_wasm_bg.wasm', import.meta.url) });
  return wasmReady;
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

async function openCache() {
  try {
    return typeof caches === 'undefined' ? null : await caches.open(CACHE_NAME);
  } catch {
    return null; // Cache Storage is unavailable (insecure context, private mode): no caching.
  }
}

async function readBody(response, onChunk) {
  const total = Number(response.headers.get('content-length')) || 0;
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.byteLength;
    onChunk(loaded, Math.max(total, loaded));
  }
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** Fetches `url` through Cache Storage. Returns null for an optional file that is missing. */
async function fetchFile(cache, url, name, { optional = false, onProgress } = {}) {
  const cached = cache && (await cache.match(url));
  if (cached) {
    const bytes = new Uint8Array(await cached.arrayBuffer());
    onProgress?.({ file: name, loaded: bytes.byteLength, total: bytes.byteLength, cached: true });
    return bytes;
  }
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw namedError('LoadError', `${url}: ${error.message}`);
  }
  if (response.status === 404 && optional) return null;
  if (!response.ok) throw namedError('LoadError', `${url}: HTTP ${response.status} ${response.statusText}`);
  const bytes = await readBody(response, (loaded, total) =>
    onProgress?.({ file: name, loaded, total, cached: false }));
  onProgress?.({ file: name, loaded: bytes.byteLength, total: bytes.byteLength, cached: false });
  if (cache) {
    await cache.put(url, new Response(bytes, {
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.byteLength) },
    })).catch(() => {}); // A full quota only costs the cache.
  }
  return bytes;
}

const OPTIONAL_FILES = ['tokenizer_config.json', 'generation_config.json', 'modules.json', 'sentence_bert_config.json'];

function decodeJson(bytes, label) {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw namedError('ModelFormatError', `${label}: malformed JSON: ${error.message}`);
  }
}

/** Collects a model's files from a base URL: name -> Uint8Array. */
async function filesFromUrl(base, onProgress) {
  if (!base.endsWith('/')) base += '/';
  const cache = await openCache();
  const files = new Map();
  const get = async (name, optional = false) => {
    const bytes = await fetchFile(cache, new URL(name, base).href, name, { optional, onProgress });
    if (bytes) files.set(name, bytes);
    return bytes;
  };
  await Promise.all([get('config.json'), get('tokenizer.json'), ...OPTIONAL_FILES.map((n) => get(n, true))]);
  // sentence-transformers modules keep their settings in subfolders (1_Pooling/config.json).
  if (files.has('modules.json')) {
    const modules = decodeJson(files.get('modules.json'), `${base}modules.json`);
    const paths = Array.isArray(modules) ? modules.map((m) => m.path).filter((p) => typeof p === 'string' && p) : [];
    await Promise.all(paths.map((path) => get(`${path}/config.json`, true)));
  }
  if (!(await get('model.safetensors', true))) {
    const index = await get('model.safetensors.index.json', true);
    if (!index) {
      throw namedError('LoadError', `${base}: neither model.safetensors nor model.safetensors.index.json was found`);
    }
    const map = decodeJson(index, `${base}model.safetensors.index.json`).weight_map ?? {};
    for (const shard of [...new Set(Object.values(map))].sort()) await get(shard);
  }
  return { files, label: base, cacheKeys: cache ? [...files.keys()].map((n) => new URL(n, base).href) : [] };
}

/** Collects a model's files from File objects (a folder the user picked). */
async function filesFromFileList(list, onProgress) {
  const files = new Map();
  for (const file of list) {
    // Paths relative to the picked folder, so module subfolders (1_Pooling/) keep their names.
    const name = file.webkitRelativePath ? file.webkitRelativePath.split('/').slice(1).join('/') : file.name;
    const bytes = new Uint8Array(await file.arrayBuffer());
    onProgress?.({ file: name, loaded: bytes.byteLength, total: bytes.byteLength, cached: false });
    files.set(name, bytes);
  }
  return { files, label: 'local files: ', cacheKeys: [] };
}

/** The object the wasm side reads files through, one tensor at a time. */
function wasmSource({ files, label }) {
  return {
    describe: (name) => `${label}${name}`,
    has: (name) => files.has(name),
    size: (name) => files.get(name).byteLength,
    read: (name, offset, length) => files.get(name).subarray(offset, offset + length),
  };
}

export async function listCachedModels() {
  const cache = await openCache();
  if (!cache) return [];
  const models = new Map();
  for (const request of await cache.keys()) {
    const url = request.url;
    const base = url.slice(0, url.lastIndexOf('/') + 1);
    const entry = models.get(base) ?? { url: base, files: [], bytes: 0 };
    const response = await cache.match(request);
    entry.files.push(url.slice(base.length));
    entry.bytes += Number(response?.headers.get('content-length')) || 0;
    models.set(base, entry);
  }
  return [...models.values()];
}

export async function deleteCachedModel(url) {
  const cache = await openCache();
  if (!cache) return false;
  const base = url.endsWith('/') ? url : `${url}/`;
  let deleted = false;
  for (const request of await cache.keys()) {
    if (request.url.startsWith(base)) deleted = (await cache.delete(request)) || deleted;
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
   * Loads a model. `source`: the base URL of a model folder, or an array of File objects.
   * `options`: `{device: 'webgpu' | 'cpu', context, onProgress({file, loaded, total}), worker}`.
   */
  static async load(source, options = {}) {
    if (options.worker) return WorkerEngine.load(source, options);
    await initialize();
    const collected = typeof source === 'string' || source instanceof URL
      ? await filesFromUrl(String(source), options.onProgress)
      : await filesFromFileList(Array.from(source ?? []), options.onProgress);
    const explicit = options.device;
    const hasWebGpu = typeof navigator !== 'undefined' && 'gpu' in navigator;
    const devices = explicit ? [explicit] : hasWebGpu ? ['webgpu', 'cpu'] : ['cpu'];
    let lastError;
    for (const device of devices) {
      try {
        const wasm = await WasmEngine.load(wasmSource(collected), { device, context: options.context }, yieldNow);
        const engine = new Engine(wasm, typeof source === 'string' ? source : collected.label);
        if (device === 'webgpu') await engine.#describeAdapter();
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

  /** Names the adapter: wasm sees an empty description, the page can read vendor/architecture. */
  async #describeAdapter() {
    const info = (await navigator.gpu.requestAdapter().catch(() => null))?.info;
    const name = [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ');
    if (name) this.#info.adapter = name;
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
    const engine = new WorkerEngine(new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }));
    const { onProgress, worker: _, ...rest } = options;
    try {
      engine.#info = await engine.#call('load', { source: source instanceof URL ? String(source) : source, options: rest }, { onProgress });
    } catch (error) {
      engine.#worker.terminate();
      throw error;
    }
    engine.modelId = typeof source === 'string' ? source : 'local files';
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

  async dispose() {
    await this.#call('dispose', {});
    this.#worker.terminate();
  }
}

export { initialize };
