//! Fuzzes the metadata reader differentially: on any bytes, `Metadata::from_json` (the small JSON reader of
//! `formats/src/json.rs`) must agree with serde_json's derived deserializer plus the same checks, accepting the
//! same documents with equal values (compared through `Debug`, which tells -0.0 from 0.0) or refusing both.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wolfpack_format::Metadata;

fuzz_target!(|data: &[u8]| {
    let ours = Metadata::from_json(data);
    let theirs = if data.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        None
    } else {
        serde_json::from_slice::<Metadata>(data)
            .ok()
            .filter(|m| m.validate().is_ok())
    };
    match (ours, theirs) {
        (Ok(a), Some(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}")),
        (Err(_), None) => {}
        (a, b) => panic!("reader {a:?} but serde_json {b:?}"),
    }
});
