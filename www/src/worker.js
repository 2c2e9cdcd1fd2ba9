// The worker side of `Engine.load(source, {worker: true})`: one engine, driven by messages
// `{id, method, args}`; answers `{id, result | error | progress | token}`.

import { Engine } from './hearth.js';

let engine = null;
const running = new Map();

function post(message) {
  self.postMessage(message);
}

const methods = {
  async load({ source, options }, id) {
    // Files and Blobs arrive as clones; here FileReaderSync reads them slice by slice.
    engine = await Engine.load(source, { ...options, worker: false, onProgress: (progress) => post({ id, progress }) });
    return { info: engine.info(), modelId: engine.modelId };
  },
  async generate({ request }, id) {
    const controller = new AbortController();
    running.set(id, controller);
    try {
      const { messages, ids, prompt, ...rest } = request;
      const options = { ...rest, signal: controller.signal, onToken: (token) => post({ id, token }) };
      if (messages) options.messages = messages;
      else if (ids) options.ids = ids;
      else options.prompt = prompt;
      return await engine.generate(options);
    } finally {
      running.delete(id);
    }
  },
  abort({ target }) {
    running.get(target)?.abort();
  },
  logits({ ids }) {
    return engine.logits(ids);
  },
  embed({ texts }) {
    return engine.embed(texts);
  },
  countTokens({ texts }) {
    return engine._countTokens(texts);
  },
  reset() {
    return engine.reset();
  },
  async dispose() {
    await engine?.dispose();
    engine = null;
  },
};

self.onmessage = async ({ data: { id, method, args } }) => {
  try {
    const result = await methods[method](args, id);
    if (id) post({ id, result });
  } catch (error) {
    if (id) post({ id, error: { name: error?.name ?? 'Error', message: error?.message ?? String(error) } });
  }
};
