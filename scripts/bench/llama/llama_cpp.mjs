// Peer benchmark: real llama.cpp (through node-llama-cpp's prebuilt CPU binaries) on a GGUF, with
// the same workload and the same JSON fields as `hearth bench`.
//
//   node scripts/bench/llama/llama_cpp.mjs --model <gguf> [--threads 1] [--runs 3]
//        [--prompt-tokens 128] [--gen-tokens 64]
//
// Install first: `npm ci --ignore-scripts` in scripts/bench/llama (no build step; the prebuilt
// binaries ship in the package). One JSON object goes to stdout; llama.cpp's logs go to stderr.
//
// Workload: the prompt is the token ids (i*7919+13) % vocab for i in 0..prompt_tokens (the ids
// `hearth bench` feeds), then gen_tokens greedy tokens with end-of-generation tokens ignored (they
// are fed back like any other token). One warm-up run, then `runs` timed runs, each on a cleared
// sequence (empty KV cache).
//
// Conventions (the same as hearth's engine):
//   time_to_first_token_s = prompt evaluation (one batch) + sampling the first new token
//   prefill_tokens_per_s  = prompt_tokens / time_to_first_token_s
//   decode_tokens_per_s   = (gen_tokens - 1) / (time from the first to the last new token), i.e.
//                           the tokens sampled after the first, over the time they took
//   load_s                = loading the model and creating the context (the native library is
//                           loaded before the clock starts)
//   peak_rss_bytes        = the process's maximum resident set size (model file pages mapped in
//                           count, as llama.cpp mmaps the GGUF)

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const { values: args } = parseArgs({
  options: {
    model: { type: "string" },
    threads: { type: "string", default: "1" },
    runs: { type: "string", default: "3" },
    "prompt-tokens": { type: "string", default: "128" },
    "gen-tokens": { type: "string", default: "64" },
  },
});
if (!args.model) {
  console.error("usage: node llama_cpp.mjs --model <gguf> [--threads 1] [--runs 3] [--prompt-tokens 128] [--gen-tokens 64]");
  process.exit(2);
}
const threads = Number(args.threads);
const runs = Math.max(1, Number(args.runs));
const promptTokens = Number(args["prompt-tokens"]);
const genTokens = Number(args["gen-tokens"]);
if (genTokens < 2) throw new Error("--gen-tokens must be at least 2 (decode speed is measured after the first token)");

const version = JSON.parse(
  readFileSync(new URL("./node_modules/node-llama-cpp/package.json", import.meta.url), "utf8"),
).version;

function summary(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0], median: sorted[Math.floor(sorted.length / 2)], max: sorted[sorted.length - 1] };
}

/** Vocabulary size from the GGUF metadata (`<arch>.vocab_size`, else the token list). */
function vocabSize(model) {
  const meta = model.fileInfo.metadata;
  return meta[meta.general.architecture]?.vocab_size ?? meta.tokenizer.ggml.tokens.length;
}

/** One generation on a cleared sequence: [time to first token, decode time after it] in seconds. */
async function generate(sequence, prompt) {
  await sequence.clearHistory();
  const started = performance.now();
  let firstAt = 0;
  let n = 0;
  for await (const token of sequence.evaluate(prompt, { temperature: 0, yieldEogToken: true })) {
    void token;
    n += 1;
    if (n === 1) firstAt = performance.now();
    if (n === genTokens) break;
  }
  const endedAt = performance.now();
  if (n !== genTokens) throw new Error(`generated ${n} tokens, expected ${genTokens}`);
  return [(firstAt - started) / 1000, (endedAt - firstAt) / 1000];
}

const llama = await getLlama({
  gpu: false,
  build: "never",
  maxThreads: threads,
  logLevel: LlamaLogLevel.warn,
  logger: (level, message) => process.stderr.write(`[llama.cpp ${level}] ${message}\n`),
});

const loadStarted = performance.now();
const model = await llama.loadModel({ modelPath: args.model, gpuLayers: 0 });
const context = await model.createContext({
  contextSize: promptTokens + genTokens,
  batchSize: Math.max(promptTokens, 1),
  threads: { ideal: threads, min: threads },
});
const loadS = (performance.now() - loadStarted) / 1000;
const sequence = context.getSequence();

const vocab = vocabSize(model);
const prompt = Array.from({ length: promptTokens }, (_, i) => (i * 7919 + 13) % vocab);

const first = [];
const prefill = [];
const decode = [];
// Run 0 is the warm-up.
for (let run = 0; run <= runs; run += 1) {
  const [firstS, decodeS] = await generate(sequence, prompt);
  if (run > 0) {
    first.push(firstS);
    prefill.push(promptTokens / firstS);
    decode.push((genTokens - 1) / decodeS);
  }
}

const release = llama.llamaCppRelease;
console.log(
  JSON.stringify(
    {
      engine: "llama.cpp",
      version: `node-llama-cpp ${version}, llama.cpp ${release.release} (${release.repo})`,
      model: args.model,
      threads: context.currentThreads ?? threads,
      backend: "cpu",
      flash_attention: context.flashAttention,
      prompt_tokens: promptTokens,
      gen_tokens: genTokens,
      runs,
      load_s: loadS,
      time_to_first_token_s: summary(first),
      prefill_tokens_per_s: summary(prefill),
      decode_tokens_per_s: summary(decode),
      peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
    },
    null,
    2,
  ),
);

await context.dispose();
await model.dispose();
await llama.dispose();
