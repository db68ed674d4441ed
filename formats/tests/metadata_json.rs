//! The metadata reader (`Metadata::from_json`, a small hand-written JSON reader) against serde_json on every
//! METADATA section at hand: the sample model and the checked-in corpus of malformed files. Both must accept
//! the same sections with equal values, or both refuse them. (Generated documents are compared in
//! `src/metadata_read.rs`, arbitrary bytes by the `metadata` fuzz target.)

mod common;

use std::path::PathBuf;

use common::sample_bytes;
use wolfpack_format::layout::{kind, ENTRY_LEN, HEADER_LEN};
use wolfpack_format::{FormatError, Metadata};

/// The METADATA section's bytes, if the header and table are intact enough to find them.
fn metadata_section(bytes: &[u8]) -> Option<&[u8]> {
    let u32_at = |at: usize| Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    let u64_at = |at: usize| Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?));
    let count = u32_at(24)?.min(64) as usize;
    (0..count).find_map(|i| {
        let e = (HEADER_LEN + ENTRY_LEN * i as u64) as usize;
        if u32_at(e)? != kind::METADATA {
            return None;
        }
        let (off, len) = (u64_at(e + 8)? as usize, u64_at(e + 16)? as usize);
        bytes.get(off..off.checked_add(len)?)
    })
}

/// What the reader did before: serde_json's derived deserializer, then the same checks.
fn with_serde(json: &[u8]) -> Result<Metadata, FormatError> {
    if json.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(FormatError::Metadata("must be a JSON object".into()));
    }
    let meta: Metadata = serde_json::from_slice(json)
        .map_err(|e| FormatError::Metadata(format!("invalid JSON: {e}")))?;
    meta.validate()?;
    Ok(meta)
}

#[test]
fn sample_and_corpus_metadata_read_as_with_serde_json() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<(String, Vec<u8>)> = vec![("sample".into(), sample_bytes().to_vec())];
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "wpk") {
            files.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    let (mut compared, mut accepted) = (0, 0);
    for (name, bytes) in &files {
        let Some(json) = metadata_section(bytes) else {
            continue;
        };
        compared += 1;
        match (Metadata::from_json(json), with_serde(json)) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b, "{name}");
                accepted += 1;
            }
            (Err(a), Err(b)) => {
                // Syntax errors differ in wording after the prefix; rule violations are the same message.
                let prefix = |e: &FormatError| e.to_string().chars().take(20).collect::<String>();
                assert_eq!(prefix(&a), prefix(&b), "{name}");
            }
            (a, b) => panic!("{name}: ours {a:?}, serde_json {b:?}"),
        }
    }
    // The corpus damages every part of the file; most keep a well-formed metadata section.
    assert!(
        compared >= 20 && accepted >= 15,
        "{compared} compared, {accepted} accepted"
    );
}
