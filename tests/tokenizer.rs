//! Tokenizer encodings and decodings against the `tokenizers` Python library, and chat-template
//! output against transformers' `apply_chat_template`.

mod common;

use hearth::text::chat::{ChatMessage, ChatTemplate};
use hearth::text::tokenizer::Tokenizer;

use common::{fixture_json as json, ids};

fn tokenizer() -> Tokenizer {
    let bytes = std::fs::read(common::fixtures().join("tokenizer/tokenizer.json")).unwrap();
    Tokenizer::from_bytes(&bytes, None).unwrap()
}

#[test]
fn encodings_and_decodings_match_tokenizers() {
    let tokenizer = tokenizer();
    let cases = json("tokenizer/cases.json");
    for case in cases.as_array().unwrap() {
        common::check_tokenizer_case(
            &tokenizer,
            case,
            "decoded",
            "decoded_skip",
            "tokenizer.json",
        );
    }
}

#[test]
fn streaming_decode_never_splits_a_character() {
    let tokenizer = tokenizer();
    let cases = json("tokenizer/cases.json");
    for case in cases.as_array().unwrap() {
        let ids = ids(&case["ids_no_special"]);
        let text = common::decode_streamed(&tokenizer, &ids);
        assert_eq!(
            text,
            tokenizer.decode(&ids, true).unwrap(),
            "{:?}",
            case["text"]
        );
    }
}

#[test]
fn chat_templates_match_transformers() {
    let cases = json("chat/cases.json");
    for case in cases.as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let messages: Vec<ChatMessage> = serde_json::from_value(case["messages"].clone()).unwrap();
        let template = ChatTemplate::new(
            case["template"].as_str().unwrap(),
            case["bos_token"].as_str(),
            case["eos_token"].as_str(),
        )
        .unwrap();
        let rendered = template.render(&messages, case["add_generation_prompt"].as_bool().unwrap());
        if case["error"].as_bool().unwrap_or(false) {
            let error = rendered.expect_err(name);
            assert_eq!(error.name(), "ChatTemplateError");
            let expected = case["error_message"].as_str().unwrap();
            assert!(
                error.to_string().contains(expected),
                "{name}: {error} should say {expected:?}"
            );
        } else {
            assert_eq!(
                rendered.unwrap(),
                case["expected"].as_str().unwrap(),
                "{name}"
            );
        }
    }
}

#[test]
fn tojson_writes_python_json() {
    let template = ChatTemplate::new(
        "{{ messages | tojson }}|{{ messages[0] | tojson(indent=2) }}",
        None,
        None,
    )
    .unwrap();
    let rendered = template
        .render(&[ChatMessage::new("user", "héllo <b>")], false)
        .unwrap();
    assert_eq!(rendered, "[{\"role\": \"user\", \"content\": \"héllo <b>\"}]|{\n  \"role\": \"user\",\n  \"content\": \"héllo <b>\"\n}");
}
