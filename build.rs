//! Copies `shaders/*.wgsl` into `OUT_DIR` without comments and indentation, which the crate
//! embeds: the kernels' text is shipped in the wasm, where it is ~5 KB of the gzipped size.
//! Line breaks stay, so a line number in a shader compiler's message is the source file's.

use std::{env, fs, path::Path};

fn main() {
    let source = Path::new("shaders");
    println!("cargo:rerun-if-changed={}", source.display());
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("shaders");
    fs::create_dir_all(&out).expect("create OUT_DIR/shaders");
    let mut entries: Vec<_> = fs::read_dir(source)
        .expect("read shaders/")
        .map(|entry| entry.expect("list shaders/").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "wgsl"))
        .collect();
    entries.sort();
    for path in entries {
        println!("cargo:rerun-if-changed={}", path.display());
        let text = fs::read_to_string(&path).expect("read a shader");
        let file_name = path.file_name().expect("a file name");
        fs::write(out.join(file_name), minify(&text)).expect("write a shader");
    }
}

/// Drops `//` comments (WGSL has no string literals for them to hide in) and the whitespace
/// at either end of each line.
fn minify(wgsl: &str) -> String {
    let mut out = String::with_capacity(wgsl.len());
    for line in wgsl.lines() {
        let code = line.find("//").map_or(line, |at| &line[..at]);
        out.push_str(code.trim());
        out.push('\n');
    }
    out
}
