// Types for hearth.js.

export interface Progress { file: string; loaded: number; total: number; cached: boolean }

export interface LoadOptions {
  /**
   * Default: "webgpu" on a hardware adapter, falling back to "cpu" if it fails; "cpu" where
   * WebGPU is missing or its only adapter is a software fallback such as SwiftShader (there the
   * CPU engine is ~14x faster; `info().skippedAdapter` names the adapter). The CPU backend is a
   * second, larger wasm module (hearth_wasm_cpu_bg.wasm), fetched only when a model runs on the
   * CPU.
   */
  device?: 'webgpu' | 'cpu';
  /** KV-cache length in tokens (default: the model's window, at most 4096). */
  context?: number;
  /**
   * Quantize float (F32/F16/BF16) weights while loading: "q8_0" (about 1/4 of f32) or "q4_0"
   * (about 1/7). Weights a GGUF already stores quantized are kept as they are.
   */
  quantize?: 'q8_0' | 'q4_0';
  onProgress?: (progress: Progress) => void;
  /** Run the engine in a Web Worker; the returned object has the same methods. */
  worker?: boolean;
}

export interface GenerateOptions {
  prompt?: string;
  ids?: number[] | Uint32Array;
  messages?: ChatMessage[];
  maxTokens?: number;
  /** 0 is greedy (the default). */
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  seed?: number;
  stop?: string | string[];
  ignoreEos?: boolean;
  signal?: AbortSignal;
  onToken?: (token: Token) => void;
}

export interface Token { id: number; text: string }

export interface GenerateResult {
  ids: number[];
  text: string;
  finishReason: 'stop' | 'length';
  usage: { promptTokens: number; completionTokens: number };
  timings: {
    firstTokenMs: number;
    prefillTokens: number;
    prefillTokensPerSecond: number;
    decodeTokens: number;
    decodeTokensPerSecond: number;
  };
}

export interface ChatMessage { role: 'system' | 'user' | 'assistant' | string; content: string | { type: string; text?: string }[] }

export interface ChatCompletionParams {
  messages: ChatMessage[];
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  seed?: number;
  stop?: string | string[];
  stream?: boolean;
  signal?: AbortSignal;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: { index: number; message: { role: 'assistant'; content: string }; logprobs: null; finish_reason: string }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: { index: number; delta: { role?: 'assistant'; content?: string }; logprobs: null; finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

export interface EngineInfo {
  architecture: string;
  parameters: number;
  dtypes: string[];
  backend: 'webgpu' | 'cpu';
  adapter: string;
  features: string[];
  context: number;
  weightsBytes: number;
  /** Weight bytes one decode step reads: every matrix once, one embedding row (chat models). */
  decodeWeightBytes?: number;
  kvCacheBytes: number;
  /** Activation buffers kept for reuse across layers and tokens (chat models). */
  activationBytes?: number;
  /** The most GPU memory held at once so far, everything included; 0 on the CPU (chat models;
   * in a worker, the figure when loading finished). */
  peakGpuBytes?: number;
  /** Set when no `device` was asked for and the CPU was chosen over this software adapter. */
  skippedAdapter?: string;
}

/**
 * What a model loads from: the base URL of a model folder (config.json, tokenizer.json,
 * *.safetensors), the URL of a `.gguf` file, a File or Blob holding a `.gguf` (a file input,
 * drag and drop), or a list of Files (a picked folder, or a list holding one `.gguf`).
 * Files past 1 GiB need `worker: true`: the worker reads them in slices; the main thread can
 * only read a file whole.
 */
export type ModelSource = string | URL | Blob | File[] | FileList;

export declare class Engine {
  static load(source: ModelSource, options?: LoadOptions): Promise<Engine>;
  readonly modelId: string;
  generate(options: GenerateOptions): Promise<GenerateResult>;
  stream(options: GenerateOptions): AsyncIterable<Token>;
  chat: {
    completions: {
      create(params: ChatCompletionParams & { stream: true }): Promise<AsyncIterable<ChatCompletionChunk>>;
      create(params: ChatCompletionParams & { stream?: false }): Promise<ChatCompletion>;
    };
  };
  logits(ids: number[] | Uint32Array): Promise<Float32Array>;
  /** For embedding models (BERT family): one vector per text, in order. */
  embed(texts: string[]): Promise<Float32Array[]>;
  embeddings: {
    create(params: { input: string | string[]; encoding_format?: 'float' | 'base64' }): Promise<{
      object: 'list';
      data: { object: 'embedding'; embedding: number[] | string; index: number }[];
      model: string;
      usage: { prompt_tokens: number; total_tokens: number };
    }>;
  };
  info(): EngineInfo;
  /** Forgets the KV cache: the next request prefills its whole prompt instead of reusing the
   * prefix it shares with the previous request (benchmarks, or to free a conversation). */
  reset(): Promise<void>;
  dispose(): Promise<void>;
}

/** Downloaded models in Cache Storage: a folder by its base URL, a `.gguf` by its own URL. */
export declare function listCachedModels(): Promise<{ url: string; files: string[]; bytes: number }[]>;
/** Deletes a cached model: a folder's base URL or a `.gguf` URL, as `listCachedModels` lists it. */
export declare function deleteCachedModel(url: string | URL): Promise<boolean>;
