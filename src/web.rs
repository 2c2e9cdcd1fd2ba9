//! The one module that touches JavaScript: wasm-bindgen exports wrapped by `www/src/hearth.js`.
//! Files stay in JavaScript (fetched, cached or user-picked) and are read into wasm memory one
//! tensor at a time through the `source` object's callbacks.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use crate::embedder::{is_embedding_model, EmbedOptions, Embedder};
use crate::engine::{quantize_type, DeviceKind, Engine, GenerateRequest, LoadOptions, Prompt};
use crate::error::Error;
use crate::formats::weights::ModelFiles;
use crate::text::chat::ChatMessage;
use crate::text::sampling::SamplingParams;

/// A JavaScript `Error` whose `name` is the error's kind (`ModelFormatError`, `AbortError`, ...).
fn js_error(error: &Error) -> JsValue {
    let js = js_sys::Error::new(&error.to_string());
    js.set_name(error.name());
    js.into()
}

fn bad_argument(message: impl std::fmt::Display) -> JsValue {
    js_error(&Error::InvalidArgument(message.to_string()))
}

/// Model files held by JavaScript: `{list() -> names, describe(name), has(name), size(name),
/// read(name, offset, length) -> Uint8Array}`, all synchronous (`read` slices a Blob with
/// FileReaderSync in a worker).
struct JsFiles {
    source: Object,
}

impl JsFiles {
    fn call(&self, method: &str, args: &[JsValue]) -> Result<JsValue, Error> {
        let failure = |e: JsValue| {
            let message = e
                .dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
                .or_else(|| e.as_string())
                .unwrap_or_else(|| format!("{e:?}"));
            // A file that cannot be read is a load failure, not a device one (which would
            // send the load to the CPU fallback).
            Error::Io {
                path: "model source".into(),
                source: std::io::Error::other(format!("`{method}`: {message}")),
            }
        };
        let function: Function = Reflect::get(&self.source, &JsValue::from_str(method))
            .map_err(failure)?
            .dyn_into()
            .map_err(|_| Error::InvalidArgument(format!("model source has no `{method}`")))?;
        let args: js_sys::Array = args.iter().collect();
        function.apply(&self.source, &args).map_err(failure)
    }

    fn bytes(&self, name: &str, offset: u64, len: usize) -> Result<Vec<u8>, Error> {
        let value = self.call(
            "read",
            &[
                JsValue::from_str(name),
                JsValue::from_f64(offset as f64),
                JsValue::from_f64(len as f64),
            ],
        )?;
        let array: Uint8Array = value.dyn_into().map_err(|_| {
            Error::InvalidArgument("model source `read` must return a Uint8Array".into())
        })?;
        if array.length() as usize != len {
            let file = self.describe(name);
            let message = format!(
                "read of {len} bytes at {offset} returned {} (truncated file?)",
                array.length()
            );
            return Err(if name.to_ascii_lowercase().ends_with(".gguf") {
                Error::Gguf { file, message }
            } else {
                Error::Safetensors { file, message }
            });
        }
        Ok(array.to_vec())
    }
}

impl ModelFiles for JsFiles {
    fn describe(&self, name: &str) -> String {
        self.call("describe", &[JsValue::from_str(name)])
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_else(|| name.to_string())
    }

    fn exists(&self, name: &str) -> bool {
        self.call("has", &[JsValue::from_str(name)])
            .map(|v| v.is_truthy())
            .unwrap_or(false)
    }

    fn read(&self, name: &str) -> Result<Vec<u8>, Error> {
        let size = self.size(name)?;
        self.bytes(name, 0, size as usize)
    }

    fn size(&self, name: &str) -> Result<u64, Error> {
        if !self.exists(name) {
            return Err(Error::Io {
                path: self.describe(name).into(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "file not found"),
            });
        }
        let size = self.call("size", &[JsValue::from_str(name)])?;
        size.as_f64().map(|s| s as u64).ok_or_else(|| {
            Error::InvalidArgument("model source `size` must return a number".into())
        })
    }

    fn read_range(&self, name: &str, offset: u64, len: usize) -> Result<Vec<u8>, Error> {
        self.bytes(name, offset, len)
    }

    fn list(&self) -> Result<Vec<String>, Error> {
        let names = self.call("list", &[])?;
        let names: js_sys::Array = names.dyn_into().map_err(|_| {
            Error::InvalidArgument("model source `list` must return an array of names".into())
        })?;
        Ok(names.iter().filter_map(|name| name.as_string()).collect())
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JsLoadOptions {
    device: Option<String>,
    context: Option<usize>,
    /// `q8_0` or `q4_0`: quantize float weights while loading.
    quantize: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsGenerateRequest {
    prompt: Option<String>,
    ids: Option<Vec<u32>>,
    messages: Option<Vec<ChatMessage>>,
    max_tokens: Option<usize>,
    temperature: Option<f32>,
    top_k: Option<usize>,
    top_p: Option<f32>,
    min_p: Option<f32>,
    repetition_penalty: Option<f32>,
    seed: Option<f64>,
    #[serde(default)]
    stop: Vec<String>,
    #[serde(default)]
    ignore_eos: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsGeneration {
    ids: Vec<u32>,
    text: String,
    prompt_tokens: usize,
    completion_tokens: usize,
    finish_reason: &'static str,
    timings: JsTimings,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsTimings {
    first_token_ms: f64,
    prefill_tokens: usize,
    prefill_tokens_per_second: f64,
    decode_tokens: usize,
    decode_tokens_per_second: f64,
}

impl JsGenerateRequest {
    fn into_request(self) -> Result<GenerateRequest, JsValue> {
        let prompt = match (self.prompt, self.ids, self.messages) {
            (Some(text), None, None) => Prompt::Text(text),
            (None, Some(ids), None) => Prompt::Ids(ids),
            (None, None, Some(messages)) => Prompt::Chat(messages),
            _ => {
                return Err(bad_argument(
                    "give exactly one of `prompt`, `ids` and `messages`",
                ))
            }
        };
        let defaults = SamplingParams::default();
        let seed = match self.seed {
            Some(seed) if seed >= 0.0 && seed.fract() == 0.0 => Some(seed as u64),
            Some(_) => return Err(bad_argument("`seed` must be a non-negative integer")),
            None => None,
        };
        Ok(GenerateRequest {
            prompt,
            max_tokens: self.max_tokens.unwrap_or(256),
            sampling: SamplingParams {
                temperature: self.temperature.unwrap_or(defaults.temperature),
                top_k: self.top_k.unwrap_or(defaults.top_k),
                top_p: self.top_p.unwrap_or(defaults.top_p),
                min_p: self.min_p.unwrap_or(defaults.min_p),
                repetition_penalty: self
                    .repetition_penalty
                    .unwrap_or(defaults.repetition_penalty),
                seed,
            },
            stop: self.stop,
            ignore_eos: self.ignore_eos,
        })
    }
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(bad_argument)
}

/// What a folder loads as: a text generator or a sentence embedder.
enum Model {
    Chat(Box<Engine>),
    Embed(Box<Embedder>),
}

impl Model {
    fn chat(&mut self) -> Result<&mut Engine, JsValue> {
        match self {
            Model::Chat(engine) => Ok(engine),
            Model::Embed(_) => Err(bad_argument(
                "this is an embedding model: use embed() or embeddings.create()",
            )),
        }
    }

    fn embedder(&mut self) -> Result<&mut Embedder, JsValue> {
        match self {
            Model::Embed(embedder) => Ok(embedder),
            Model::Chat(_) => Err(bad_argument(
                "this is a text-generation model: use generate() or chat.completions.create()",
            )),
        }
    }
}

/// The engine as JavaScript sees it. Calls are serialized by `hearth.js`; a call made while
/// another runs is rejected rather than interleaved.
#[wasm_bindgen]
pub struct WasmEngine {
    engine: Rc<RefCell<Option<Model>>>,
}

fn busy() -> JsValue {
    js_error(&Error::InvalidArgument(
        "the engine is busy with another call (await it first) or was disposed".into(),
    ))
}

/// Runs `f` with the engine taken out of its cell, so a second call while this one awaits finds
/// the cell empty and is rejected instead of interleaving.
async fn with_engine<T>(
    cell: Rc<RefCell<Option<Model>>>,
    f: impl AsyncFnOnce(&mut Model) -> Result<T, JsValue>,
) -> Result<T, JsValue> {
    let mut engine = cell.borrow_mut().take().ok_or_else(busy)?;
    let result = f(&mut engine).await;
    *cell.borrow_mut() = Some(engine);
    result
}

#[wasm_bindgen]
impl WasmEngine {
    /// Loads a model from `source` (see `JsFiles`). `yield_now` returns a Promise that resolves
    /// on the next turn of the event loop; it is awaited after every generated token.
    pub async fn load(
        source: Object,
        options: JsValue,
        yield_now: Function,
    ) -> Result<WasmEngine, JsValue> {
        let options: JsLoadOptions = if options.is_undefined() || options.is_null() {
            JsLoadOptions::default()
        } else {
            serde_wasm_bindgen::from_value(options).map_err(bad_argument)?
        };
        let device = match options.device.as_deref() {
            None | Some("webgpu") => DeviceKind::Gpu,
            Some("cpu") => DeviceKind::Cpu,
            Some(other) => {
                return Err(bad_argument(format!(
                    "unknown device `{other}` (webgpu or cpu)"
                )))
            }
        };
        let quantize = options
            .quantize
            .as_deref()
            .map(quantize_type)
            .transpose()
            .map_err(|e| js_error(&e))?;
        let load_options = LoadOptions {
            device,
            context: options.context,
            quantize,
            ..Default::default()
        };
        let files = JsFiles { source };
        if is_embedding_model(&files).map_err(|e| js_error(&e))? {
            let embed_options = EmbedOptions {
                device,
                quantize,
                ..Default::default()
            };
            let embedder = Embedder::load_with(&files, &embed_options)
                .await
                .map_err(|e| js_error(&e))?;
            return Ok(WasmEngine {
                engine: Rc::new(RefCell::new(Some(Model::Embed(Box::new(embedder))))),
            });
        }
        let mut engine = Engine::load(&files, &load_options)
            .await
            .map_err(|e| js_error(&e))?;
        engine.set_yield_hook(Box::new(move || {
            let promise = yield_now
                .call0(&JsValue::NULL)
                .ok()
                .and_then(|p| p.dyn_into::<Promise>().ok());
            Box::pin(async move {
                if let Some(promise) = promise {
                    let _ = JsFuture::from(promise).await;
                }
            })
        }));
        Ok(WasmEngine {
            engine: Rc::new(RefCell::new(Some(Model::Chat(Box::new(engine))))),
        })
    }

    /// `request`: `{prompt | ids | messages, maxTokens, temperature, topK, topP, minP,
    /// repetitionPenalty, seed, stop, ignoreEos}`. `on_token(id, text)` is called per token and
    /// returns `false` to abort (the promise then rejects with an `AbortError`).
    pub fn generate(&self, request: JsValue, on_token: Function) -> Promise {
        let engine = self.engine.clone();
        future_to_promise(async move {
            let request: JsGenerateRequest =
                serde_wasm_bindgen::from_value(request).map_err(bad_argument)?;
            let request = request.into_request()?;
            let mut callback = |id: u32, text: &str| {
                on_token
                    .call2(&JsValue::NULL, &JsValue::from(id), &JsValue::from_str(text))
                    .map(|keep| keep.is_truthy())
                    .unwrap_or(false)
            };
            let generation = with_engine(engine, async |model| {
                model
                    .chat()?
                    .generate(&request, &mut callback)
                    .await
                    .map_err(|e| js_error(&e))
            })
            .await?;
            let t = &generation.timings;
            to_js(&JsGeneration {
                completion_tokens: generation.ids.len(),
                ids: generation.ids.clone(),
                text: generation.text.clone(),
                prompt_tokens: generation.prompt_tokens,
                finish_reason: generation.finish_reason.as_str(),
                timings: JsTimings {
                    first_token_ms: t.first_token_s * 1e3,
                    prefill_tokens: t.prefill_tokens,
                    prefill_tokens_per_second: t.prefill_tokens_per_s(),
                    decode_tokens: t.decode_tokens,
                    decode_tokens_per_second: t.decode_tokens_per_s(),
                },
            })
        })
    }

    /// The last position's logits for `ids` (a `Float32Array`).
    pub fn logits(&self, ids: Vec<u32>) -> Promise {
        let engine = self.engine.clone();
        future_to_promise(async move {
            let rows = with_engine(engine, async |model| {
                model
                    .chat()?
                    .logits(&ids, false)
                    .await
                    .map_err(|e| js_error(&e))
            })
            .await?;
            let last = rows.last().cloned().unwrap_or_default();
            Ok(js_sys::Float32Array::from(last.as_slice()).into())
        })
    }

    /// The prompt text the chat template makes of `messages` (`[{role, content}]`).
    #[wasm_bindgen(js_name = renderChat)]
    pub fn render_chat(&self, messages: JsValue) -> Result<String, JsValue> {
        let messages: Vec<ChatMessage> =
            serde_wasm_bindgen::from_value(messages).map_err(bad_argument)?;
        let mut guard = self.engine.try_borrow_mut().map_err(|_| busy())?;
        let engine = guard.as_mut().ok_or_else(busy)?.chat()?;
        engine.render_chat(&messages).map_err(|e| js_error(&e))
    }

    /// Token ids of `text`. For an embedding model: as the model sees it (special tokens,
    /// truncation), whatever `add_special_tokens` says.
    pub fn tokenize(&self, text: &str, add_special_tokens: bool) -> Result<Vec<u32>, JsValue> {
        let guard = self.engine.try_borrow().map_err(|_| busy())?;
        let ids = match guard.as_ref().ok_or_else(busy)? {
            Model::Chat(engine) => engine.tokenizer().encode(text, add_special_tokens),
            Model::Embed(embedder) => embedder.tokenize(text),
        };
        ids.map_err(|e| js_error(&e))
    }

    /// One embedding (`Float32Array`) per text, in order.
    pub fn embed(&self, texts: Vec<String>) -> Promise {
        let engine = self.engine.clone();
        future_to_promise(async move {
            let embeddings = with_engine(engine, async |model| {
                let embedder = model.embedder()?;
                embedder.embed(&texts).await.map_err(|e| js_error(&e))
            })
            .await?;
            let array: js_sys::Array = embeddings
                .iter()
                .map(|e| JsValue::from(js_sys::Float32Array::from(e.as_slice())))
                .collect();
            Ok(array.into())
        })
    }

    pub fn detokenize(&self, ids: Vec<u32>) -> Result<String, JsValue> {
        let guard = self.engine.try_borrow().map_err(|_| busy())?;
        let tokenizer = match guard.as_ref().ok_or_else(busy)? {
            Model::Chat(engine) => engine.tokenizer(),
            Model::Embed(embedder) => embedder.tokenizer(),
        };
        tokenizer.decode(&ids, true).map_err(|e| js_error(&e))
    }

    /// `{architecture, parameters, dtypes, backend, adapter, features, context, weightsBytes,
    /// kvCacheBytes, ...}`.
    pub fn info(&self) -> Result<JsValue, JsValue> {
        let guard = self.engine.try_borrow().map_err(|_| busy())?;
        let info = match guard.as_ref().ok_or_else(busy)? {
            Model::Chat(engine) => serde_json::to_value(engine.info()).map(|mut info| {
                let memory = engine.memory();
                info["activation_bytes"] = memory.activations.into();
                info["peak_gpu_bytes"] = memory.peak.into();
                info
            }),
            Model::Embed(embedder) => serde_json::to_value(embedder.info()).map(|mut info| {
                info["task"] = "embeddings".into();
                info
            }),
        }
        .map_err(bad_argument)?;
        to_js(&camel_case_keys(info))
    }

    /// Forgets what the KV cache holds, so the next request prefills its whole prompt (the
    /// engine otherwise reuses the longest prefix shared with the previous request).
    pub fn reset(&self) -> Result<(), JsValue> {
        let mut guard = self.engine.try_borrow_mut().map_err(|_| busy())?;
        if let Model::Chat(engine) = guard.as_mut().ok_or_else(busy)? {
            engine.reset();
        }
        Ok(())
    }

    /// Frees the model (GPU buffers are released with it).
    pub fn dispose(&self) -> Result<(), JsValue> {
        let mut guard = self.engine.try_borrow_mut().map_err(|_| busy())?;
        guard.take();
        Ok(())
    }
}

fn camel_case_keys(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => map
            .into_iter()
            .map(|(key, v)| {
                let mut camel = String::with_capacity(key.len());
                let mut upper = false;
                for c in key.chars() {
                    if c == '_' {
                        upper = true;
                    } else if upper {
                        camel.extend(c.to_uppercase());
                        upper = false;
                    } else {
                        camel.push(c);
                    }
                }
                (camel, camel_case_keys(v))
            })
            .collect(),
        other => other,
    }
}
