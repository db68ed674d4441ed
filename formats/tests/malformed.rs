//! No input can make the reader panic, and each kind of damage yields the error that names it.
//!
//! `tests/corpus/` holds malformed files checked into the repository (also the seed corpus of the fuzz target);
//! `expected.txt` maps each to a fragment of its error message. `WPK_WRITE_CORPUS=1 cargo test -p wolfpack-format
//! --test malformed` regenerates the generated part from the sample model.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::{find_section, refresh_checksums, sample_bytes, section_span};
use wolfpack_format::{AlignedBytes, ModelView};

fn parse(bytes: &[u8]) -> Result<(), String> {
    ModelView::parse(&AlignedBytes::copy_from(bytes))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = sample_bytes();
    for len in 0..bytes.len() {
        assert!(
            parse(&bytes[..len]).is_err(),
            "truncation to {len} bytes parsed"
        );
    }
}

#[test]
fn every_single_byte_change_is_caught() {
    let bytes = sample_bytes();
    for at in 0..bytes.len() {
        let mut m = bytes.to_vec();
        m[at] ^= 0xA5;
        assert!(parse(&m).is_err(), "changing byte {at} went unnoticed");
    }
}

#[test]
fn random_damage_behind_valid_checksums_never_panics() {
    // Corruptions with refreshed checksums reach the structural checks; the reader must answer, not crash.
    let base = sample_bytes().to_vec();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut rnd = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut ok, mut err) = (0, 0);
    for _ in 0..20_000 {
        let mut m = base.clone();
        for _ in 0..1 + rnd() % 4 {
            let at = (rnd() as usize) % m.len();
            m[at] = rnd() as u8;
        }
        refresh_checksums(&mut m);
        match parse(&m) {
            Ok(()) => ok += 1,
            Err(_) => err += 1,
        }
    }
    assert!(
        err > 10_000,
        "most random corruptions must be rejected ({ok} accepted, {err} rejected)"
    );
}

/// Named corruptions of the sample model, each with a fragment of the message it must produce.
fn generated_cases() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let base = sample_bytes().to_vec();
    let a = find_section(&base, 2, 0);
    let (a_off, _) = section_span(&base, a);
    let (b_off, _) = section_span(&base, find_section(&base, 2, 1));
    let meta = find_section(&base, 1, 0);
    let (m_off, m_len) = section_span(&base, meta);
    let edit = |f: &dyn Fn(&mut Vec<u8>), refresh: bool| {
        let mut m = base.clone();
        f(&mut m);
        if refresh {
            refresh_checksums(&mut m);
        }
        m
    };
    let replace_in_meta = |from: &str, to: &str| {
        edit(
            &|m: &mut Vec<u8>| {
                let text = String::from_utf8(m[m_off..m_off + m_len].to_vec()).unwrap();
                let new = text.replacen(from, to, 1);
                assert_eq!(new.len(), text.len());
                m[m_off..m_off + m_len].copy_from_slice(new.as_bytes());
            },
            true,
        )
    };
    let entry = |i: usize| 64 + 32 * i;
    vec![
        ("empty", vec![], "truncated"),
        ("bad_magic", edit(&|m| m[0] = b'P', false), "bad magic"),
        (
            "version_2",
            edit(&|m| m[8] = 2, true),
            "unsupported format version 2",
        ),
        (
            "big_endian",
            edit(
                &|m| m[12..16].copy_from_slice(&0x0A0B_0C0Du32.to_be_bytes()),
                true,
            ),
            "byte-order mark",
        ),
        (
            "cut_short",
            base[..base.len() - 64].to_vec(),
            "header declares",
        ),
        (
            "header_checksum",
            edit(&|m| m[28] ^= 1, false),
            "checksum mismatch in header",
        ),
        (
            "section_checksum",
            edit(&|m| m[a_off + 70] ^= 1, false),
            "checksum mismatch in section",
        ),
        (
            "section_past_end",
            edit(
                &|m| m[entry(a) + 16..entry(a) + 24].copy_from_slice(&u64::MAX.to_le_bytes()),
                true,
            ),
            "run past the end",
        ),
        (
            "section_misaligned",
            edit(&|m| m[entry(a) + 8] += 4, true),
            "not a multiple of 64",
        ),
        (
            "section_overlap",
            edit(
                &|m| m[entry(a) + 8..entry(a) + 16].copy_from_slice(&(m_off as u64).to_le_bytes()),
                true,
            ),
            "overlaps",
        ),
        (
            "duplicate_section",
            edit(&|m| m[entry(a) + 4] = 1, true),
            "appears twice",
        ),
        (
            "unknown_kind",
            edit(&|m| m[entry(a)] = 9, true),
            "unknown section kind",
        ),
        (
            "metadata_json",
            replace_in_meta("{\"", "{'"),
            "invalid JSON",
        ),
        (
            "metadata_array",
            replace_in_meta("{", "["),
            "must be a JSON object",
        ),
        (
            "i8_scale_overflow",
            // 127 * 1e38 overflows f32: the dequantised weights of B's first row would be infinite.
            edit(
                &|m| m[b_off + 256..b_off + 260].copy_from_slice(&1e38f32.to_le_bytes()),
                true,
            ),
            "not finite",
        ),
        (
            "record_padding",
            edit(&|m| m[a_off + 100] = 1, true),
            "padding between arrays",
        ),
        (
            "dims_mismatch",
            replace_in_meta("\"hidden\":8", "\"hidden\":9"),
            "metadata requires 9 x 9",
        ),
        (
            "bad_tolerance",
            replace_in_meta("\"max_iterations\":100", "\"max_iterations\":  0"),
            "max_iterations = 0",
        ),
        (
            "unknown_storage",
            edit(&|m| m[a_off] = 7, true),
            "unknown storage code 7",
        ),
        (
            "row_ptr_start",
            edit(&|m| m[a_off + 64] = 1, true),
            "row_ptr[0] = 1",
        ),
        (
            "row_ptr_decreasing",
            edit(
                &|m| m[a_off + 64 + 8..a_off + 64 + 12].copy_from_slice(&40u32.to_le_bytes()),
                true,
            ),
            "exceeds nnz",
        ),
        (
            "col_out_of_range",
            edit(&|m| m[a_off + 128] = 8, true),
            "out of range",
        ),
        (
            "col_unsorted",
            edit(
                &|m| {
                    m[a_off + 128] = 7;
                    m[a_off + 129] = 0;
                },
                true,
            ),
            "not strictly increasing",
        ),
        (
            "nan_value",
            edit(
                &|m| m[a_off + 192..a_off + 194].copy_from_slice(&0x7E00u16.to_le_bytes()),
                true,
            ),
            "not finite",
        ),
        (
            "not_well_posed",
            // Doubling every f16 value of A (exponent + 1) lifts the row L1 norms from 0.6 to 1.2.
            edit(
                &|m| {
                    for k in 0..21 {
                        let at = a_off + 192 + 2 * k;
                        let v = u16::from_le_bytes([m[at], m[at + 1]]);
                        m[at..at + 2].copy_from_slice(&(v + 0x0400).to_le_bytes());
                    }
                },
                true,
            ),
            "not well-posed",
        ),
        (
            "nonzero_padding",
            edit(&|m| m[a_off - 1] = 1, true),
            "padding",
        ),
    ]
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

#[test]
fn generated_corruptions_give_their_errors() {
    for (name, bytes, expected) in generated_cases() {
        let err = parse(&bytes).expect_err(name);
        assert!(
            err.to_lowercase().contains(&expected.to_lowercase()),
            "{name}: {err:?} should contain {expected:?}"
        );
    }
    if std::env::var_os("WPK_WRITE_CORPUS").is_some() {
        let mut expected =
            String::from("# file\texpected fragment of the error message (empty: any error)\n");
        for (name, bytes, frag) in generated_cases() {
            std::fs::write(corpus_dir().join(format!("{name}.wpk")), bytes).unwrap();
            expected.push_str(&format!("{name}.wpk\t{frag}\n"));
        }
        std::fs::write(corpus_dir().join("expected.txt"), expected).unwrap();
    }
}

#[test]
fn checked_in_corpus_is_rejected() {
    let text = std::fs::read_to_string(corpus_dir().join("expected.txt"))
        .expect("tests/corpus/expected.txt");
    let expected: BTreeMap<String, String> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (f, e) = l.split_once('\t').unwrap_or((l, ""));
            (f.to_string(), e.to_string())
        })
        .collect();
    let mut seen = 0;
    for entry in std::fs::read_dir(corpus_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "wpk") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let frag = expected
            .get(&name)
            .unwrap_or_else(|| panic!("{name} has no line in expected.txt"));
        let err = parse(&std::fs::read(&path).unwrap()).expect_err(&name);
        assert!(
            err.to_lowercase().contains(&frag.to_lowercase()),
            "{name}: {err:?} should contain {frag:?}"
        );
        seen += 1;
    }
    assert!(seen >= 20, "only {seen} corpus files");
}
