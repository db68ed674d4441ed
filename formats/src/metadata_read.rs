//! Decoding the METADATA JSON into [`Metadata`] with the small reader of `json.rs` instead of serde.
//!
//! The rules are those of `#[derive(Deserialize)]` on the metadata types read by `serde_json::from_slice`, so
//! both accept the same documents and produce equal values (`formats/fuzz`'s `metadata` target and the tests
//! below compare them): a struct is an object (fields by name, unknown ones skipped, a repeated one refused)
//! or an array (fields in declaration order); fields marked `#[serde(default)]` may be missing; `f32` and `f64`
//! fields take any JSON number (`as` conversions of serde_json's `u64`/`i64`/`f64`); `u32` fields take
//! non-negative integers that fit; options take `null`; the activation is `"relu"` or `{"relu": null}`.

use crate::json::{Num, Reader, Result};
use crate::lazy_json::LazyJson;
use crate::metadata::{Activation, Dims, Metadata, Preprocessing, Provenance, SolverDefaults};

/// Parses a whole document (nothing but whitespace may follow the object).
pub(crate) fn parse(bytes: &[u8]) -> Result<Metadata> {
    let mut r = Reader::new(bytes);
    let m = metadata(&mut r)?;
    r.end()?;
    Ok(m)
}

/// Reads a struct with the given field names, calling `field(reader, index)` for each field present; returns
/// the set of fields seen as a bit mask.
fn fields(
    r: &mut Reader<'_>,
    names: &[&str],
    mut field: impl FnMut(&mut Reader<'_>, usize) -> Result<()>,
) -> Result<u32> {
    let mut seen = 0u32;
    let mut first = true;
    if r.begin_object()? {
        while let Some(field_at) = r.next_field(&mut first, names)? {
            match field_at {
                Some(i) if seen & 1 << i != 0 => {
                    return Err(r.error(&format!("duplicate field `{}`", names[i])))
                }
                Some(i) => {
                    seen |= 1 << i;
                    field(r, i)?;
                }
                None => r.skip_value()?,
            }
        }
        r.end_object()?;
    } else if r.begin_array()? {
        for i in 0..names.len() {
            if !r.next_element(&mut first)? {
                break;
            }
            seen |= 1 << i;
            field(r, i)?;
        }
        r.end_array()?;
    } else {
        return Err(r.wrong_type("a struct"));
    }
    Ok(seen)
}

/// Fails unless field `i` of `names` was seen.
fn require(r: &Reader<'_>, seen: u32, names: &[&str], i: usize) -> Result<()> {
    if seen & 1 << i == 0 {
        return Err(r.error(&format!("missing field `{}`", names[i])));
    }
    Ok(())
}

fn number(r: &mut Reader<'_>) -> Result<Num> {
    r.number()?.ok_or_else(|| r.wrong_type("a number"))
}

fn f32(r: &mut Reader<'_>) -> Result<f32> {
    Ok(match number(r)? {
        Num::U64(u) => u as f32,
        Num::I64(i) => i as f32,
        Num::F64(f) => f as f32,
    })
}

fn f64(r: &mut Reader<'_>) -> Result<f64> {
    Ok(match number(r)? {
        Num::U64(u) => u as f64,
        Num::I64(i) => i as f64,
        Num::F64(f) => f,
    })
}

fn u32(r: &mut Reader<'_>) -> Result<u32> {
    match number(r)? {
        Num::U64(u) => u32::try_from(u).map_err(|_| r.error("invalid value: expected u32")),
        _ => Err(r.error("invalid type: expected u32")),
    }
}

fn string(r: &mut Reader<'_>) -> Result<String> {
    r.string()?.ok_or_else(|| r.wrong_type("a string"))
}

/// Items an array makes room for at its first (see [`array`]).
const FIRST_ROOM: usize = 16;

/// A JSON array of `T`s.
///
/// Room for [`FIRST_ROOM`] items is made at the first one, in one allocation: a classifier's labels (10 for
/// Fashion-MNIST) then take no reallocation, where growing from 4 by doubling took two.
fn array<T>(
    r: &mut Reader<'_>,
    mut item: impl FnMut(&mut Reader<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    if !r.begin_array()? {
        return Err(r.wrong_type("a sequence"));
    }
    let (mut out, mut first) = (Vec::new(), true);
    while r.next_element(&mut first)? {
        if out.capacity() == 0 {
            out.reserve_exact(FIRST_ROOM);
        }
        out.push(item(r)?);
    }
    r.end_array()?;
    Ok(out)
}

fn activation(r: &mut Reader<'_>) -> Result<Activation> {
    let relu = |r: &mut Reader<'_>, name: &str| {
        if name == "relu" {
            Ok(Activation::Relu)
        } else {
            Err(r.error(&format!("unknown variant `{name}`, expected `relu`")))
        }
    };
    if let Some(name) = r.string()? {
        return relu(r, &name);
    }
    if !r.begin_object()? {
        return Err(r.wrong_type("an enum"));
    }
    let mut first = true;
    let Some(name) = r.next_key(&mut first)? else {
        return Err(r.error("expected value"));
    };
    let a = relu(r, &name)?;
    if !r.null()? {
        return Err(r.wrong_type("unit"));
    }
    // Only one key: the variant.
    r.end_object()?;
    Ok(a)
}

fn dims(r: &mut Reader<'_>) -> Result<Dims> {
    const NAMES: &[&str] = &["hidden", "inputs", "outputs"];
    let mut d = [0u32; 3];
    let seen = fields(r, NAMES, |r, i| {
        d[i] = u32(r)?;
        Ok(())
    })?;
    for i in 0..NAMES.len() {
        require(r, seen, NAMES, i)?;
    }
    Ok(Dims {
        hidden: d[0],
        inputs: d[1],
        outputs: d[2],
    })
}

fn solver(r: &mut Reader<'_>) -> Result<SolverDefaults> {
    const NAMES: &[&str] = &["tolerance", "max_iterations"];
    let mut s = SolverDefaults::default();
    let seen = fields(r, NAMES, |r, i| {
        match i {
            0 => s.tolerance = f32(r)?,
            _ => s.max_iterations = u32(r)?,
        }
        Ok(())
    })?;
    require(r, seen, NAMES, 0)?;
    require(r, seen, NAMES, 1)?;
    Ok(s)
}

fn preprocessing(r: &mut Reader<'_>) -> Result<Preprocessing> {
    let mut p = Preprocessing::default();
    fields(r, &["scale", "mean", "std"], |r, i| {
        match i {
            0 => p.scale = f32(r)?,
            1 => p.mean = array(r, f32)?,
            _ => p.std = array(r, f32)?,
        }
        Ok(())
    })?;
    Ok(p)
}

fn provenance(r: &mut Reader<'_>) -> Result<Provenance> {
    let mut p = Provenance::default();
    fields(
        r,
        &["dataset", "accuracy", "wolfpack_version", "training"],
        |r, i| {
            match i {
                0 => p.dataset = if r.null()? { None } else { Some(string(r)?) },
                1 => p.accuracy = if r.null()? { None } else { Some(f64(r)?) },
                2 => p.wolfpack_version = string(r)?,
                // Checked as `value()` would, not built: see `lazy_json.rs`.
                _ => {
                    let text = r.checked_value_text()?;
                    p.training = LazyJson::from_checked(text)
                        .map_err(|_| r.error("invalid unicode code point"))?;
                }
            }
            Ok(())
        },
    )?;
    Ok(p)
}

fn metadata(r: &mut Reader<'_>) -> Result<Metadata> {
    const NAMES: &[&str] = &[
        "dims",
        "activation",
        "solver",
        "kappa",
        "preprocessing",
        "labels",
        "provenance",
    ];
    let mut m = Metadata {
        dims: Dims {
            hidden: 0,
            inputs: 0,
            outputs: 0,
        },
        activation: Activation::default(),
        solver: SolverDefaults::default(),
        kappa: 0.0,
        preprocessing: Preprocessing::default(),
        labels: Vec::new(),
        provenance: Provenance::default(),
    };
    let seen = fields(r, NAMES, |r, i| {
        match i {
            0 => m.dims = dims(r)?,
            1 => m.activation = activation(r)?,
            2 => m.solver = solver(r)?,
            3 => m.kappa = f32(r)?,
            4 => m.preprocessing = preprocessing(r)?,
            5 => m.labels = array(r, string)?,
            _ => m.provenance = provenance(r)?,
        }
        Ok(())
    })?;
    require(r, seen, NAMES, 0)?;
    require(r, seen, NAMES, 3)?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Both readers accept `doc` with identical values (compared through `Debug`, which tells -0.0 from 0.0),
    /// or both refuse it.
    fn agree(doc: &[u8]) -> core::result::Result<(), String> {
        let ours = parse(doc);
        let theirs = serde_json::from_slice::<Metadata>(doc);
        match (&ours, &theirs) {
            (Ok(a), Ok(b)) if format!("{a:?}") == format!("{b:?}") => Ok(()),
            (Err(_), Err(_)) => Ok(()),
            _ => Err(format!(
                "{:?}\n ours:   {ours:?}\n serde:  {theirs:?}",
                String::from_utf8_lossy(doc)
            )),
        }
    }

    const MINIMAL: &str = r#"{"dims":{"hidden":1,"inputs":2,"outputs":3},"kappa":0.5}"#;

    #[test]
    fn written_metadata_reads_back_equal() {
        let mut m = Metadata::new(256, 784, 10);
        m.kappa = 0.5;
        m.labels = (0..10).map(|i| format!("class \"{i}\" é 😀\n")).collect();
        m.preprocessing = Preprocessing {
            scale: 1.0 / 255.0,
            mean: vec![0.2860],
            std: vec![0.3530],
        };
        m.provenance.dataset = Some("fashion-mnist".into());
        m.provenance.accuracy = Some(0.8917);
        m.provenance.training = LazyJson::from(serde_json::json!({
            "steps": 4000, "lr": 1e-3, "negative": -7, "nested": [[1, 2.5], {"a": null, "b": true}],
            "big": 18446744073709551615u64, "tiny": 5e-324,
        }));
        let json = m.to_json();
        assert_eq!(parse(&json).unwrap(), m);
        agree(&json).unwrap();
    }

    #[test]
    fn edge_cases_agree_with_serde_json() {
        let deep =
            |open: &str, close: &str, n: usize| format!("{}{}", open.repeat(n), close.repeat(n));
        let with = |extra: &str| {
            format!(r#"{{"dims":{{"hidden":1,"inputs":2,"outputs":3}},"kappa":0.5{extra}}}"#)
        };
        let mut docs: Vec<String> = vec![
            MINIMAL.into(),
            format!(" \t\r\n{MINIMAL} \n"),
            format!("{MINIMAL}x"),
            format!("{MINIMAL},"),
            r#"{"dims":[1,2,3],"kappa":1}"#.into(),
            r#"{"dims":[1,2],"kappa":1}"#.into(),
            r#"{"dims":[1,2,3,4],"kappa":1}"#.into(),
            r#"{"dims":{"hidden":1,"inputs":2,"outputs":3,"hidden":4},"kappa":1}"#.into(),
            r#"{"dims":{"hidden":1,"inputs":2},"kappa":1}"#.into(),
            r#"{"dims":{"hidden":1,"inputs":2,"outputs":3}}"#.into(),
            r#"{"dims":{"hidden":1.0,"inputs":2,"outputs":3},"kappa":1}"#.into(),
            r#"{"dims":{"hidden":-1,"inputs":2,"outputs":3},"kappa":1}"#.into(),
            r#"{"dims":{"hidden":4294967296,"inputs":2,"outputs":3},"kappa":1}"#.into(),
            r#"{"dims":{"hidden":4294967295,"inputs":2,"outputs":3},"kappa":-0}"#.into(),
            r#"[{"hidden":1,"inputs":2,"outputs":3},"relu",{"tolerance":1,"max_iterations":2},0.5]"#.into(),
            r#"{"dims":null,"kappa":1}"#.into(),
            r#"{"kappa":1,"kappa":2,"dims":{"hidden":1,"inputs":2,"outputs":3}}"#.into(),
            r#"{"dims":{"hidden":1,"inputs":2,"outputs":3,},"kappa":1}"#.into(),
            r#"{"dims":{"hidden":1 "inputs":2,"outputs":3},"kappa":1}"#.into(),
            r#"{"dims":{"hidden":1,"inputs":2,"outputs":3},"kappa":01}"#.into(),
            r#"{"dims":{"hidden":1,"inputs":2,"outputs":3},"kappa":1.}"#.into(),
            r#"{"dims":{"hidden":1,"inputs":2,"outputs":3},"kappa":1e}"#.into(),
            r#"{"dims":{"hidden":1,"inputs":2,"outputs":3},"kappa":"#.into(),
            "{".into(),
            "".into(),
            "[]".into(),
            "null".into(),
        ];
        for extra in [
            r#","activation":"relu""#,
            r#","activation":"tanh""#,
            r#","activation":{"relu":null}"#,
            r#","activation":{"relu":null,"x":1}"#,
            r#","activation":{"relu":0}"#,
            r#","activation":{}"#,
            r#","activation":null"#,
            r#","solver":{"tolerance":1e-5,"max_iterations":100}"#,
            r#","solver":{"tolerance":1e-5}"#,
            r#","solver":[1e-5,100]"#,
            r#","preprocessing":{"scale":0.00392156862745098,"mean":[0.5],"std":[1,2,3]}"#,
            r#","preprocessing":[2]"#,
            r#","preprocessing":{"mean":null}"#,
            r#","preprocessing":{"mean":[1,]}"#,
            r#","preprocessing":{"mean":[1 2]}"#,
            r#","preprocessing":{"scale":1e39}"#,
            r#","preprocessing":{"scale":-1e-50}"#,
            r#","labels":["a","b\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"]"#,
            r#","labels":["\ud83d"]"#,
            r#","labels":["\ude00"]"#,
            r#","labels":["\ud83d\u0041"]"#,
            r#","labels":["\x"]"#,
            "\u{2c}\"labels\":[\"tab\there\"]",
            r#","labels":[1]"#,
            r#","provenance":{"dataset":null,"accuracy":null}"#,
            r#","provenance":{"dataset":"d","accuracy":0.89170000000000005,"wolfpack_version":"0.1.0"}"#,
            r#","provenance":{"accuracy":1e400}"#,
            r#","provenance":{"accuracy":123456789012345678901234567890e-10}"#,
            r#","provenance":{"accuracy":0.000000000000000000000000000001234567890123456789}"#,
            r#","provenance":{"accuracy":1e-400}"#,
            r#","provenance":{"accuracy":-0.0}"#,
            r#","provenance":{"accuracy":1e99999999999}"#,
            r#","provenance":{"accuracy":0e99999999999}"#,
            r#","provenance":{"accuracy":1e-99999999999}"#,
            r#","provenance":{"training":{"a":1,"a":2,"b":[-9223372036854775808,-9223372036854775809,18446744073709551616]}}"#,
            r#","provenance":{"training":"\ud800"}"#,
            r#","unknown":"\ud800 \u12"}"#,
            r#","unknown":"\ud800 \u1234""#,
            r#","unknown":[1,{"a":[true,false,null,-0.5e+3]}]"#,
            r#","unknown":[1,]"#,
            r#","unknown":{"a" 1}"#,
            r#","unknown":{1:1}"#,
            r#","unknown":nul"#,
            r#","unknown":-"#,
            r#","unknown":1.e3"#,
        ] {
            docs.push(with(extra));
        }
        // The nesting limit counts the metadata object and the provenance object: training may add 125 levels.
        for n in [124, 125, 126, 200] {
            docs.push(with(&format!(
                r#","provenance":{{"training":{}}}"#,
                deep("[", "]", n)
            )));
        }
        // Skipped values have no nesting limit (and must not overflow the stack).
        docs.push(with(&format!(r#","unknown":{}"#, deep("[", "]", 100_000))));
        docs.push(with(&format!(
            r#","unknown":{}"#,
            deep(r#"{"a":"#, "}", 50_000)
        )));
        docs.push(with(&format!(r#","unknown":{}"#, deep("[", "", 1000))));
        // Invalid UTF-8 is refused in read strings and keys, accepted in skipped ones.
        let mut bad = with(r#","labels":["ok"]"#).into_bytes();
        let i = bad.iter().position(|&b| b == b'o').unwrap();
        bad[i] = 0xFF;
        let mut skipped = with(r#","unknown":"ok""#).into_bytes();
        let j = skipped.iter().rposition(|&b| b == b'o').unwrap();
        skipped[j] = 0xFF;
        assert!(parse(&skipped).is_ok());
        for doc in docs
            .iter()
            .map(|d| d.as_bytes())
            .chain([&bad[..], &skipped[..]])
        {
            agree(doc).unwrap();
        }
    }

    /// The check behind `LazyJson` on the numbers and strings its fast paths stop at: same acceptance, same
    /// errors (message and position), same end as `value()`.
    #[test]
    fn checked_text_edge_cases_agree_with_value() {
        let long = |n: usize| "9".repeat(n);
        let mut texts: Vec<String> = [
            "-",
            "-0",
            "0",
            "00",
            "01",
            "-01",
            "0.",
            "0.5",
            "1.",
            "1.e3",
            "1e",
            "1e+",
            "1e400",
            "1e-400",
            "-1.5e3",
            "1.5.3",
            "12a",
            "1 2",
            "0x1",
            "-a",
            "\"",
            "\"abc",
            "\"a\\",
            "\"a\\u12\"",
            "\"\\ud800\"",
            "\"tab\there\"",
            "\"é\"",
            "\"a\\n\"",
            "[1,2.50,-3]",
            "{\"k\":1.0}",
            "{\"k\\u0041\":\"v\"}",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        for n in [19, 20, 299, 300, 301, 320, 400] {
            texts.push(long(n));
            texts.push(format!("-{}.5", long(n)));
            texts.push(format!("0.{}", long(n)));
        }
        let mut docs: Vec<Vec<u8>> = Vec::new();
        for t in &texts {
            for doc in [
                t.clone(),
                format!("[{t}]"),
                format!("{{\"a\":{t}}}"),
                format!(" {t} "),
            ] {
                docs.push(doc.into_bytes());
            }
        }
        // Bytes that are not UTF-8 inside a string.
        docs.push(b"\"\xff\"".to_vec());
        docs.push(b"{\"\xc3\":1}".to_vec());
        for doc in docs {
            let (mut a, mut b) = (Reader::new(&doc), Reader::new(&doc));
            let value = a.value();
            let text = b.checked_value_text();
            match (&value, text) {
                (Ok(v), Ok(t)) => {
                    let lazy = LazyJson::from_checked(t).unwrap();
                    assert_eq!(format!("{:?}", lazy.to_value()), format!("{v:?}"));
                    assert_eq!(a.end(), b.end(), "{}", String::from_utf8_lossy(&doc));
                }
                (Err(e), Err(f)) => assert_eq!(e, &f, "{}", String::from_utf8_lossy(&doc)),
                (v, t) => panic!(
                    "{}: value {v:?} but check {t:?}",
                    String::from_utf8_lossy(&doc)
                ),
            }
        }
    }

    /// JSON text of a value, from a small grammar that includes invalid pieces.
    fn any_json() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            Just("false".to_string()),
            number(),
            string(),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec((string(), inner), 0..6).prop_map(|v| {
                    let fields: Vec<String> =
                        v.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
                    format!("{{{}}}", fields.join(","))
                }),
            ]
        })
    }

    /// Number text: mostly valid JSON numbers of every shape, now and then a malformed one.
    fn number() -> impl Strategy<Value = String> {
        let valid = prop_oneof![
            "-?(0|[1-9][0-9]{0,24})(\\.[0-9]{1,24})?([eE][+-]?[0-9]{1,3})?",
            any::<f32>().prop_map(|x| serde_json::to_string(&x).unwrap()),
            any::<f64>().prop_map(|x| serde_json::to_string(&x).unwrap()),
            any::<u32>().prop_map(|x| x.to_string()),
        ];
        prop_oneof![49 => valid, 1 => "-?[0-9]{1,3}\\.?[eE]?[+-]?[0-9]{0,3}"]
    }

    /// String text (quoted): mostly valid, with escapes and non-ASCII; now and then lone surrogates or bad
    /// escapes.
    fn string() -> impl Strategy<Value = String> {
        prop_oneof![
            49 => "\"([a-z0-9 ]|é|😀|\\\\[\"\\\\/bfnrt]|\\\\u00[0-9a-f]{2}|\\\\ud83d\\\\ude00)*\"",
            1 => "\"([a-z]|\\\\u(d[89ab][0-9a-f]{2}|d[c-f][0-9a-f]{2})|\\\\x)*\"",
        ]
    }

    /// A metadata document: known fields in any order (right or wrong types), unknown fields, whitespace.
    fn document() -> impl Strategy<Value = String> {
        let u = || prop_oneof![49 => (1u32..1000).prop_map(|x| x.to_string()), 1 => number()];
        let f = || prop_oneof![49 => number(), 1 => any_json()];
        let floats = || prop::collection::vec(f(), 0..4).prop_map(|v| format!("[{}]", v.join(",")));
        let dims = (u(), u(), u())
            .prop_map(|(h, i, o)| format!(r#"{{"hidden":{h},"inputs":{i},"outputs":{o}}}"#));
        let solver =
            (f(), u()).prop_map(|(t, m)| format!(r#"{{"tolerance":{t},"max_iterations":{m}}}"#));
        let pre = (f(), floats(), floats())
            .prop_map(|(s, m, d)| format!(r#"{{"scale":{s},"mean":{m},"std":{d}}}"#));
        let labels =
            prop::collection::vec(string(), 0..4).prop_map(|v| format!("[{}]", v.join(",")));
        let prov = (string(), f(), string(), any_json()).prop_map(|(d, a, v, t)| {
            format!(r#"{{"dataset":{d},"accuracy":{a},"wolfpack_version":{v},"training":{t}}}"#)
        });
        let field = |name: &'static str, value: BoxedStrategy<String>| {
            prop_oneof![49 => value, 1 => any_json()].prop_map(move |v| format!("\"{name}\":{v}"))
        };
        let fields = (
            field("dims", dims.boxed()),
            field(
                "activation",
                prop_oneof![
                    Just("\"relu\"".to_string()),
                    Just(r#"{"relu":null}"#.to_string())
                ]
                .boxed(),
            ),
            field("solver", solver.boxed()),
            field("kappa", f().boxed()),
            field("preprocessing", pre.boxed()),
            field("labels", labels.boxed()),
            field("provenance", prov.boxed()),
            prop::collection::vec(
                (string(), any_json()).prop_map(|(k, v)| format!("{k}:{v}")),
                0..3,
            ),
        );
        (
            fields,
            any::<u64>(),
            prop::collection::vec(prop_oneof![Just(""), Just(" "), Just("\n\t")], 16),
        )
            .prop_map(|((a, b, c, d, e, g, h, unknown), choice, ws)| {
                let mut parts: Vec<String> = vec![a, b, c, d, e, g, h];
                parts.extend(unknown);
                // Drop some fields, duplicate one now and then, and shuffle, all decided by `choice`.
                let mut bits = choice;
                parts.retain(|_| {
                    bits = bits.rotate_left(7);
                    bits & 15 != 0
                });
                if bits & 0xF00 == 0 && !parts.is_empty() {
                    let dup = parts[0].clone();
                    parts.push(dup);
                }
                for i in (1..parts.len()).rev() {
                    bits = bits
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    parts.swap(i, (bits >> 33) as usize % (i + 1));
                }
                let sep = |k: usize| ws[k % ws.len()];
                let body: Vec<String> = parts
                    .iter()
                    .enumerate()
                    .map(|(k, p)| format!("{}{p}{}", sep(k), sep(k + 1)))
                    .collect();
                format!("{}{{{}}}{}", sep(3), body.join(","), sep(5))
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn documents_agree_with_serde_json(doc in document()) {
            agree(doc.as_bytes()).map_err(TestCaseError::fail)?;
        }

        #[test]
        fn mutated_documents_agree_with_serde_json(
            doc in document(),
            at in any::<prop::sample::Index>(),
            edit in 0u8..3,
            byte in prop::sample::select(b"{}[],:\"\\ 0-.eE1nul\x00\xff".to_vec()),
        ) {
            let mut bytes = doc.into_bytes();
            let i = at.index(bytes.len() + 1);
            match edit {
                0 if i < bytes.len() => { bytes.remove(i); }
                1 => bytes.insert(i, byte),
                _ if i < bytes.len() => bytes[i] = byte,
                _ => bytes.push(byte),
            }
            agree(&bytes).map_err(TestCaseError::fail)?;
        }

        /// The check behind `LazyJson` accepts exactly what `value()` accepts, with the same error, stops where it
        /// stops, and its text reads back as the same value.
        #[test]
        fn checked_text_agrees_with_value(
            doc in any_json(),
            at in any::<prop::sample::Index>(),
            byte in prop::sample::select(b"{}[],:\"\\ 0-.eE1nul\x00\xff".to_vec()),
            mutate in any::<bool>(),
        ) {
            let mut bytes = format!(" {doc} ,").into_bytes();
            if mutate {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            let (mut a, mut b) = (Reader::new(&bytes), Reader::new(&bytes));
            let value = a.value();
            let text = b.checked_value_text();
            match (&value, text) {
                (Ok(v), Ok(t)) => {
                    let lazy = LazyJson::from_checked(t).unwrap();
                    prop_assert_eq!(format!("{:?}", lazy.to_value()), format!("{v:?}"));
                    prop_assert_eq!(a.end(), b.end());
                }
                (Err(e), Err(f)) => prop_assert_eq!(e, &f),
                (v, t) => prop_assert!(false, "value {v:?} but check {t:?}"),
            }
        }

        #[test]
        fn values_agree_with_serde_json(doc in any_json()) {
            let ours = Reader::new(doc.as_bytes()).value();
            let theirs = serde_json::from_str::<serde_json::Value>(&doc);
            match (ours, theirs) {
                (Ok(a), Ok(b)) => prop_assert_eq!(format!("{a:?}"), format!("{b:?}")),
                (Err(_), Err(_)) => {}
                (a, b) => prop_assert!(false, "{doc}: ours {a:?}, serde {b:?}"),
            }
        }
    }
}
