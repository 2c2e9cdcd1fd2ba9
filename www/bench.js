// The browser bench: one engine, one model, one warm-up run then N timed runs, through public
// JS APIs only (hearth's ./pkg/hearth.js, or transformers.js). Query parameters choose what to
// run (see `params` below); the JSON result goes to #result and `window.benchResult`, with the
// field names of the native `hearth bench`. `window.benchError` holds a failure's message.

const query = new URLSearchParams(location.search);
const num = (name, fallback) => (query.has(name) ? Number(query.get(name)) : fallback);
const params = {
  engine: query.get('engine') ?? 'hearth', // hearth | transformers
  task: query.get('task') ?? 'generate', // generate | embed
  // hearth: webgpu | cpu | default (no `device`: hearth picks); transformers: webgpu | wasm
  device: query.get('device') ?? 'webgpu',
  model: query.get('model') ?? '/models/smollm2-135m/f32/', // a folder URL, or a .gguf URL (hearth)
  dtype: query.get('dtype') ?? 'f32', // a label for hearth; transformers' `dtype` (f32 -> fp32)
  quantize: query.get('quantize') ?? undefined, // hearth: quantize on load (q8_0 | q4_0)
  prompt: num('prompt', 128), // prompt tokens
  gen: num('gen', 64), // new tokens (EOS off)
  runs: num('runs', 3),
  // hearth: KV-cache positions; by default prompt + new tokens, as the native bench's --context
  context: num('context', 0),
  texts: num('texts', 32), // embed: texts in the batch
  tokens: num('tokens', 128), // embed: tokens per text, special tokens included
  worker: query.get('worker') === '1', // hearth: run the engine in a Web Worker
  threads: num('threads', navigator.hardwareConcurrency || 1), // transformers wasm: ORT threads
  externalData: query.get('external') === '1', // transformers: model.onnx_data beside model.onnx
  tjs: query.get('tjs') ?? '/vendor/transformers/transformers.js', // transformers.js module URL
  ort: query.get('ort') ?? '/vendor/ort/', // onnxruntime-web dist folder URL
  run: query.get('run') === '1',
};

const logElement = document.querySelector('#log');
function log(message) {
  console.log(`[bench] ${message}`);
  logElement.textContent += `${message}\n`;
}

// Fill the form with the parameters, so a run by hand can be repeated or changed.
for (const [name, value] of Object.entries(params)) {
  const field = document.querySelector(`#form [name="${name}"]`);
  if (field && value !== undefined) field.value = String(value);
}

/** min, median and max of a series, as the native bench reports them (upper median). */
function summary(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0], median: sorted[sorted.length >> 1], max: sorted[sorted.length - 1] };
}

const seconds = (ms) => ms / 1000;

/** A progress line while a run is under way (slow devices take minutes per run). */
function progress(run, tokens, t0) {
  log(`  ${run ? `run ${run}` : 'warm-up'}: ${tokens} tokens after ${seconds(performance.now() - t0).toFixed(1)} s`);
}

/**
 * The native bench's prompt: varied ids, so nothing depends on a tokenizer. hearth's JS API keeps
 * the KV cache of the last request and reuses its longest common prefix (the native bench calls
 * `reset()` between runs; the JS API has no such call), so run `run` changes the first id: every
 * run then prefills the whole prompt. Both engines get the same prompts.
 */
function promptIds(count, vocab, run = 0) {
  return Array.from({ length: count }, (_, i) => ((i * 7919 + 13) + (i === 0 ? run : 0)) % vocab);
}

/**
 * `count` texts of about `tokens` tokens each (special tokens included) from words that are one
 * WordPiece token each in BERT's uncased vocabulary; the measured count goes in the result.
 */
function benchTexts(count, tokens) {
  const words = ('the of and to in is was for on with as by at from his that it an are were which this be or has had '
    + 'not but first one their its new after who they have her she two been other when there all during into school '
    + 'time may years more most only over city some world would where later up such used many can state about national '
    + 'out known university united then made').split(' ');
  return Array.from({ length: count }, (_, t) =>
    Array.from({ length: tokens - 2 }, (_, i) => words[(1000 + t * 131 + i * 7919) % words.length]).join(' '));
}

async function adapterInfo() {
  const adapter = await navigator.gpu?.requestAdapter().catch(() => null);
  if (!adapter) return null;
  const { vendor, architecture, device, description } = adapter.info ?? {};
  return {
    vendor, architecture, device, description,
    features: [...adapter.features].sort(),
    max_buffer_size: adapter.limits.maxBufferSize,
    max_storage_buffer_binding_size: adapter.limits.maxStorageBufferBindingSize,
  };
}

function adapterName(info) {
  return info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') : null;
}

// ---------------------------------------------------------------------------------------------
// hearth

async function hearthBench() {
  const hearth = await import('./pkg/hearth.js');
  const version = await fetch(new URL('./pkg/package.json', import.meta.url)).then((r) => r.json()).then((p) => p.version, () => null);
  const context = params.context || params.prompt + params.gen;
  const options = { device: params.device === 'default' ? undefined : params.device, worker: params.worker, context };
  if (params.quantize) options.quantize = params.quantize;
  const reported = new Set();
  options.onProgress = ({ file, loaded, total }) => {
    if (loaded === total && !reported.has(file)) log(`load: ${file} ${(total / 2 ** 20).toFixed(1)} MiB`);
    if (loaded === total) reported.add(file);
  };
  const model = new URL(params.model, location.href).href;
  await hearth.deleteCachedModel(model).catch(() => {}); // a cold load, every time
  const started = performance.now();
  const engine = await hearth.Engine.load(model, options);
  const loadS = seconds(performance.now() - started);
  const info = engine.info();
  log(`loaded in ${loadS.toFixed(2)} s: ${info.backend} on ${info.adapter}, ${info.dtypes?.join(',')}`);
  const base = {
    engine: 'hearth', version, device: params.device, backend: info.backend, adapter: info.adapter,
    skipped_adapter: info.skippedAdapter ?? null,
    model: params.model, dtype: params.dtype, dtypes: info.dtypes, worker: params.worker, load_s: loadS,
    weights_bytes: info.weightsBytes, kv_cache_bytes: info.kvCacheBytes,
  };
  const peak = info.peakGpuBytes ?? info.peak_gpu_bytes;
  const notes = [];
  let result;
  if (params.task === 'embed') {
    const texts = benchTexts(params.texts, params.tokens);
    const tokensPerText = typeof engine.tokenize === 'function' ? engine.tokenize(texts[0]).length : null;
    const batch = [];
    for (let run = 0; run <= params.runs; run++) {
      const t0 = performance.now();
      const vectors = await engine.embed(texts);
      const elapsed = seconds(performance.now() - t0);
      if (vectors.length !== texts.length) throw new Error(`embed returned ${vectors.length} vectors for ${texts.length} texts`);
      log(`${run ? `run ${run}` : 'warm-up'}: ${elapsed.toFixed(3)} s`);
      if (run) batch.push(elapsed);
    }
    result = {
      ...base, task: 'embed', texts: texts.length, tokens_per_text: tokensPerText, runs: params.runs,
      batch_s: summary(batch), texts_per_s: summary(batch.map((s) => texts.length / s)),
    };
  } else {
    const first = [], prefill = [], decode = [], jsFirst = [], jsDecode = [];
    let generated = 0;
    for (let run = 0; run <= params.runs; run++) {
      const ids = promptIds(params.prompt, info.vocab, run);
      const stamps = [];
      const t0 = performance.now();
      const out = await engine.generate({
        ids, maxTokens: params.gen, ignoreEos: true, temperature: 0, onToken: () => {
          stamps.push(performance.now());
          if (stamps.length === 1 || stamps.length % 16 === 0) progress(run, stamps.length, t0);
        },
      });
      const t = out.timings;
      generated = out.ids.length;
      if (t.prefillTokens !== ids.length) notes.push(`run ${run}: prefilled ${t.prefillTokens} of ${ids.length} prompt tokens`);
      log(`${run ? `run ${run}` : 'warm-up'}: ${out.ids.length} tokens, first ${(t.firstTokenMs / 1000).toFixed(3)} s, `
        + `prefill ${t.prefillTokensPerSecond.toFixed(1)} tok/s, decode ${t.decodeTokensPerSecond.toFixed(2)} tok/s`);
      if (!run) continue;
      first.push(t.firstTokenMs / 1000);
      prefill.push(t.prefillTokensPerSecond);
      decode.push(t.decodeTokensPerSecond);
      // The same figures on the page's clock (onToken), as transformers.js is measured.
      jsFirst.push(seconds(stamps[0] - t0));
      if (stamps.length > 1) jsDecode.push((stamps.length - 1) / seconds(stamps.at(-1) - stamps[0]));
    }
    if (generated !== params.gen) notes.push(`generated ${generated} tokens, not ${params.gen}`);
    result = {
      ...base, task: 'generate', prompt_tokens: params.prompt, gen_tokens: params.gen, runs: params.runs,
      time_to_first_token_s: summary(first), prefill_tokens_per_s: summary(prefill), decode_tokens_per_s: summary(decode),
      page_clock: { time_to_first_token_s: summary(jsFirst), decode_tokens_per_s: jsDecode.length ? summary(jsDecode) : null },
    };
  }
  if (peak !== undefined) result.peak_gpu_bytes = peak;
  else notes.push('engine.info() has no peak GPU memory figure (peakGpuBytes)');
  result.info = info;
  if (notes.length) result.notes = notes;
  await engine.dispose();
  return result;
}

// ---------------------------------------------------------------------------------------------
// transformers.js

async function transformersBench() {
  const tjs = await import(params.tjs);
  const { env, Tensor, BaseStreamer } = tjs;
  const onnx = env.backends.onnx;
  const ort = new URL(params.ort, location.href).href;
  onnx.wasm.wasmPaths = { mjs: `${ort}ort-wasm-simd-threaded.asyncify.mjs`, wasm: `${ort}ort-wasm-simd-threaded.asyncify.wasm` };
  onnx.wasm.numThreads = params.threads;
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  // A model URL `/models/a/b/` is the local model `a/b` under `/models/`.
  const url = new URL(params.model.endsWith('/') ? params.model : `${params.model}/`, location.href);
  const parts = url.pathname.split('/').filter(Boolean);
  // A path, not a full URL: transformers.js 4.3 looks for optional local files (the tokenizer
  // a pipeline needs) only at local paths that are not URLs.
  env.localModelPath = `/${parts[0]}/`;
  const id = parts.slice(1).join('/');
  const dtype = { f32: 'fp32', f16: 'fp16' }[params.dtype] ?? params.dtype;
  const device = params.device;
  const notes = [];
  const options = { device, dtype };
  if (params.externalData) options.use_external_data_format = true;
  const started = performance.now();
  let model, extractor;
  if (params.task === 'embed') {
    extractor = await tjs.pipeline('feature-extraction', id, options);
  } else {
    model = await tjs.AutoModelForCausalLM.from_pretrained(id, options);
  }
  const loadS = seconds(performance.now() - started);
  const threads = device === 'wasm' ? onnx.wasm.numThreads : null;
  log(`loaded in ${loadS.toFixed(2)} s (device ${device}, dtype ${dtype}, threads ${threads}, `
    + `cross-origin isolated ${crossOriginIsolated})`);
  if (device === 'wasm' && params.threads > 1 && !crossOriginIsolated) notes.push('not cross-origin isolated: ORT runs on 1 thread');
  const adapter = device === 'webgpu' ? adapterName(await adapterInfo()) : null;
  const base = {
    engine: 'transformers.js', version: env.version, onnxruntime_web: onnx.versions?.web ?? null, device, adapter,
    model: params.model, dtype, threads, cross_origin_isolated: crossOriginIsolated, load_s: loadS,
  };
  let result;
  if (params.task === 'embed') {
    const texts = benchTexts(params.texts, params.tokens);
    // The pipeline truncates to the model's maximum length, as hearth does.
    const tokenizer = extractor.tokenizer;
    const tokensPerText = Math.min(tokenizer.encode(texts[0]).length, tokenizer.model_max_length ?? Infinity);
    const batch = [];
    for (let run = 0; run <= params.runs; run++) {
      const t0 = performance.now();
      const out = await extractor(texts, { pooling: 'mean', normalize: true });
      const elapsed = seconds(performance.now() - t0);
      if (out.dims[0] !== texts.length) throw new Error(`got ${out.dims[0]} vectors for ${texts.length} texts`);
      log(`${run ? `run ${run}` : 'warm-up'}: ${elapsed.toFixed(3)} s`);
      if (run) batch.push(elapsed);
    }
    await extractor.dispose?.();
    result = {
      ...base, task: 'embed', texts: texts.length, tokens_per_text: tokensPerText, runs: params.runs,
      batch_s: summary(batch), texts_per_s: summary(batch.map((s) => texts.length / s)),
    };
  } else {
    const vocab = model.config.vocab_size;
    // The streamer sees the prompt first (before any forward pass), then each new token.
    class Clock extends BaseStreamer {
      constructor(run) { super(); this.run = run; this.stamps = []; this.tokens = 0; }
      put(value) {
        this.stamps.push(performance.now());
        this.tokens += value[0].length;
        const made = this.stamps.length - 1;
        if (made === 1 || (made > 0 && made % 16 === 0)) progress(this.run, made, this.stamps[0]);
      }
      end() {}
    }
    const first = [], prefill = [], decode = [];
    let generated = 0;
    for (let run = 0; run <= params.runs; run++) {
      const ids = promptIds(params.prompt, vocab, run);
      const input_ids = new Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]);
      const attention_mask = new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]);
      const clock = new Clock(run);
      const t0 = performance.now();
      const out = await model.generate({
        input_ids, attention_mask, max_new_tokens: params.gen, min_new_tokens: params.gen, do_sample: false, streamer: clock,
      });
      const stamps = clock.stamps.slice(1); // one per new token
      generated = out.dims.at(-1) - ids.length;
      const ttft = seconds(stamps[0] - t0);
      const rate = stamps.length > 1 ? (stamps.length - 1) / seconds(stamps.at(-1) - stamps[0]) : null;
      log(`${run ? `run ${run}` : 'warm-up'}: ${generated} tokens, first ${ttft.toFixed(3)} s, decode ${rate?.toFixed(2)} tok/s`);
      if (!run) continue;
      first.push(ttft);
      prefill.push(ids.length / ttft);
      if (rate !== null) decode.push(rate);
    }
    if (generated !== params.gen) notes.push(`generated ${generated} tokens, not ${params.gen}`);
    notes.push('prefill_tokens_per_s = prompt tokens / time to first token (transformers.js reports no separate prefill time)');
    result = {
      ...base, task: 'generate', prompt_tokens: params.prompt, gen_tokens: params.gen, runs: params.runs,
      time_to_first_token_s: summary(first), prefill_tokens_per_s: summary(prefill),
      decode_tokens_per_s: decode.length ? summary(decode) : null,
    };
    await model.dispose?.();
  }
  notes.push('no peak GPU memory figure: transformers.js/onnxruntime-web expose none');
  result.notes = notes;
  return result;
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const gpu = await adapterInfo();
  log(`${params.engine} ${params.task} on ${params.device}: ${params.model} (${params.dtype})`);
  const result = params.engine === 'transformers' ? await transformersBench() : await hearthBench();
  result.user_agent = navigator.userAgent;
  result.hardware_concurrency = navigator.hardwareConcurrency;
  result.gpu_adapter = gpu;
  return result;
}

if (params.run) {
  document.querySelector('#start').disabled = true;
  main().then((result) => {
    window.benchResult = result;
    document.querySelector('#result').textContent = JSON.stringify(result, null, 2);
    document.body.dataset.done = 'ok';
  }, (error) => {
    window.benchError = `${error?.name ?? 'Error'}: ${error?.message ?? error}`;
    log(`failed: ${window.benchError}\n${error?.stack ?? ''}`);
    document.body.dataset.done = 'error';
  });
}
