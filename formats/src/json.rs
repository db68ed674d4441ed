//! A small JSON reader (RFC 8259) for the METADATA section, with serde_json's exact rules.
//!
//! The runtime only ever *reads* metadata, and linking serde_json's deserializer for that cost about 30 KB of
//! the Android library (docs/BENCHMARKS.md, "android"). This reader accepts exactly the documents
//! `serde_json::from_slice` (1.x, default features) accepts and yields the same values, so the format's JSON
//! and every existing file stay as they are; the writer still uses serde_json. The parts that decide values
//! are ports of serde_json's (`serde_json/src/de.rs`, `read.rs`): numbers (a `u64` significand scaled by an
//! `f64` power of ten, not correctly rounded beyond 2^53 but identical to serde_json's, which is what matters
//! for equality with files read before), strings (escapes, surrogate pairs, UTF-8 validation, control
//! characters), the nesting limit of 128, and the leniency of skipped values (an unknown field's value is
//! checked for syntax only, without the nesting limit or UTF-8 checks, like `IgnoredAny`). The decoding of
//! [`crate::Metadata`] on top of it is `metadata_read.rs`; `formats/fuzz` compares both with serde_json.

use core::fmt;
use std::borrow::Cow;

use serde_json::{Map, Value};

/// serde_json's recursion limit: a document may nest arrays and objects at most 127 deep.
const MAX_DEPTH: u32 = 128;

/// Why the bytes are not acceptable JSON (or not the expected shape), and where.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JsonError {
    message: String,
    line: usize,
    column: usize,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.message, self.line, self.column
        )
    }
}

/// The reader's result type.
pub(crate) type Result<T> = core::result::Result<T, JsonError>;

/// A JSON number as serde_json's parser classifies it: non-negative integers that fit `u64`, negative ones
/// that fit `i64`, everything else (fractions, exponents, `-0`, longer integers) `f64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    U64(u64),
    I64(i64),
    F64(f64),
}

/// A cursor over a JSON document.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    depth: u32,
}

/// Whether `a * 10 + b` would exceed `max` (serde_json's `overflow!`).
fn overflows(a: u64, b: u64, max: u64) -> bool {
    a >= max / 10 && (a > max / 10 || b > max % 10)
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader {
            bytes,
            pos: 0,
            depth: 0,
        }
    }

    /// An error at the current position (1-based line and column, as serde_json reports them).
    #[cold]
    #[inline(never)]
    pub(crate) fn error(&self, message: &str) -> JsonError {
        let before = &self.bytes[..self.pos.min(self.bytes.len())];
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        JsonError {
            message: message.into(),
            line: 1 + before.iter().filter(|&&b| b == b'\n').count(),
            column: before.len() - line_start,
        }
    }

    fn fail<T>(&self, message: &str) -> Result<T> {
        Err(self.error(message))
    }

    fn raw_peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn bump(&mut self) {
        self.pos += 1;
    }

    fn next_byte(&mut self) -> Option<u8> {
        let b = self.raw_peek();
        if b.is_some() {
            self.bump();
        }
        b
    }

    /// Skips whitespace (space, tab, line feed, carriage return: JSON's four) and peeks at the next byte.
    pub(crate) fn peek(&mut self) -> Option<u8> {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.raw_peek() {
            self.bump();
        }
        self.raw_peek()
    }

    /// Consumes `word` (`null`, `true`, `false`) at the current position.
    fn word(&mut self, word: &[u8]) -> Result<()> {
        for &expected in word {
            match self.next_byte() {
                None => return self.fail("EOF while parsing a value"),
                Some(b) if b != expected => return self.fail("expected ident"),
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The next value if it is `null` (consumed: `Ok(true)`); any other value is left in place.
    pub(crate) fn null(&mut self) -> Result<bool> {
        if self.peek() != Some(b'n') {
            return Ok(false);
        }
        self.word(b"null")?;
        Ok(true)
    }

    /// The error for a value of the wrong type (or for no value).
    #[cold]
    pub(crate) fn wrong_type(&mut self, expected: &str) -> JsonError {
        if self.peek().is_none() {
            self.error("EOF while parsing a value")
        } else {
            self.error(&format!("invalid type: expected {expected}"))
        }
    }

    /// Opens the array or object whose bracket is next, counting nesting like serde_json.
    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth >= MAX_DEPTH {
            return self.fail("recursion limit exceeded");
        }
        self.bump();
        Ok(())
    }

    /// Opens an array if one is next: `Ok(false)` (nothing consumed) for anything else.
    pub(crate) fn begin_array(&mut self) -> Result<bool> {
        if self.peek() != Some(b'[') {
            return Ok(false);
        }
        self.enter()?;
        Ok(true)
    }

    /// Opens an object if one is next: `Ok(false)` (nothing consumed) for anything else.
    pub(crate) fn begin_object(&mut self) -> Result<bool> {
        if self.peek() != Some(b'{') {
            return Ok(false);
        }
        self.enter()?;
        Ok(true)
    }

    /// Inside an array: whether another element follows (consuming the comma before it).
    pub(crate) fn next_element(&mut self, first: &mut bool) -> Result<bool> {
        match self.peek() {
            None => self.fail("EOF while parsing a list"),
            Some(b']') => Ok(false),
            Some(_) if *first => {
                *first = false;
                Ok(true)
            }
            Some(b',') => {
                self.bump();
                match self.peek() {
                    Some(b']') => self.fail("trailing comma"),
                    Some(_) => Ok(true),
                    None => self.fail("EOF while parsing a value"),
                }
            }
            Some(_) => self.fail("expected `,` or `]`"),
        }
    }

    /// Closes an array: `]` must be next (more elements than expected are "trailing characters").
    pub(crate) fn end_array(&mut self) -> Result<()> {
        match self.peek() {
            Some(b']') => {
                self.bump();
                self.depth -= 1;
                Ok(())
            }
            Some(b',') => {
                self.bump();
                match self.peek() {
                    Some(b']') => self.fail("trailing comma"),
                    _ => self.fail("trailing characters"),
                }
            }
            Some(_) => self.fail("trailing characters"),
            None => self.fail("EOF while parsing a list"),
        }
    }

    /// Inside an object: the next key (consuming the comma before it and the colon after it), or `None` at `}`.
    pub(crate) fn next_key(&mut self, first: &mut bool) -> Result<Option<Cow<'a, str>>> {
        if !self.key_start(first)? {
            return Ok(None);
        }
        let key = self.string_body()?;
        self.colon()?;
        Ok(Some(key))
    }

    /// [`Reader::next_key`] without building the key: whether a key followed (checked, colon consumed).
    fn next_key_checked(&mut self, first: &mut bool) -> Result<bool> {
        if !self.key_start(first)? {
            return Ok(false);
        }
        self.check_string_body()?;
        self.colon()?;
        Ok(true)
    }

    /// Inside an object: `Ok(false)` at `}`, else consumes the comma before the next key and its opening quote.
    fn key_start(&mut self, first: &mut bool) -> Result<bool> {
        match self.peek() {
            None => return self.fail("EOF while parsing an object"),
            Some(b'}') => return Ok(false),
            Some(b) if *first => {
                *first = false;
                if b != b'"' {
                    return self.fail("key must be a string");
                }
            }
            Some(b',') => {
                self.bump();
                match self.peek() {
                    Some(b'"') => {}
                    Some(b'}') => return self.fail("trailing comma"),
                    Some(_) => return self.fail("key must be a string"),
                    None => return self.fail("EOF while parsing a value"),
                }
            }
            Some(_) => return self.fail("expected `,` or `}`"),
        }
        self.bump();
        Ok(true)
    }

    fn colon(&mut self) -> Result<()> {
        match self.peek() {
            Some(b':') => {
                self.bump();
                Ok(())
            }
            Some(_) => self.fail("expected `:`"),
            None => self.fail("EOF while parsing an object"),
        }
    }

    /// Closes an object: `}` must be next.
    pub(crate) fn end_object(&mut self) -> Result<()> {
        match self.peek() {
            Some(b'}') => {
                self.bump();
                self.depth -= 1;
                Ok(())
            }
            Some(b',') => self.fail("trailing comma"),
            Some(_) => self.fail("trailing characters"),
            None => self.fail("EOF while parsing an object"),
        }
    }

    /// After the document: only whitespace may remain.
    pub(crate) fn end(&mut self) -> Result<()> {
        match self.peek() {
            Some(_) => self.fail("trailing characters"),
            None => Ok(()),
        }
    }

    /// A string value, if one is next (`Ok(None)`, nothing consumed, otherwise).
    pub(crate) fn string(&mut self) -> Result<Option<String>> {
        if self.peek() != Some(b'"') {
            return Ok(None);
        }
        self.bump();
        self.string_body().map(|s| Some(s.into_owned()))
    }

    /// Length of the run of plain string bytes at the cursor (up to a quote, backslash or control character).
    fn plain_run(&self) -> usize {
        let rest = &self.bytes[self.pos.min(self.bytes.len())..];
        rest.iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            .unwrap_or(rest.len())
    }

    /// After an opening quote: the string up to its closing quote, escapes decoded, checked to be UTF-8;
    /// borrowed from the document when it has no escapes (the common case: no allocation).
    fn string_body(&mut self) -> Result<Cow<'a, str>> {
        let bytes: &'a [u8] = self.bytes;
        let start = self.pos;
        let mut out: Option<Vec<u8>> = None;
        loop {
            let run = self.plain_run();
            if let Some(out) = &mut out {
                out.extend_from_slice(&bytes[self.pos..self.pos + run]);
            }
            self.pos += run;
            match self.next_byte() {
                None => return self.fail("EOF while parsing a string"),
                Some(b'"') => break,
                Some(b'\\') => {
                    let out = out.get_or_insert_with(|| bytes[start..self.pos - 1].to_vec());
                    self.escape(out)?;
                }
                Some(_) => {
                    return self
                        .fail("control character (\\u0000-\\u001F) found while parsing a string")
                }
            }
        }
        match out {
            None => core::str::from_utf8(&bytes[start..self.pos - 1]).map(Cow::Borrowed),
            Some(out) => String::from_utf8(out)
                .map(Cow::Owned)
                .map_err(|e| e.utf8_error()),
        }
        .or_else(|_| self.fail("invalid unicode code point"))
    }

    /// After a backslash: one escape, decoded into `out`.
    fn escape(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let decoded = match self.next_byte() {
            None => return self.fail("EOF while parsing a string"),
            Some(b'"') => b'"',
            Some(b'\\') => b'\\',
            Some(b'/') => b'/',
            Some(b'b') => 0x08,
            Some(b'f') => 0x0C,
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            Some(b't') => b'\t',
            Some(b'u') => {
                let c = self.unicode_escape()?;
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                return Ok(());
            }
            Some(_) => return self.fail("invalid escape"),
        };
        out.push(decoded);
        Ok(())
    }

    /// Four hex digits of a `\u` escape.
    fn hex4(&mut self) -> Result<u16> {
        let Some(digits) = self.bytes.get(self.pos..self.pos + 4) else {
            self.pos = self.bytes.len();
            return self.fail("EOF while parsing a string");
        };
        self.pos += 4;
        let mut n = 0u16;
        for &d in digits {
            let v = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return self.fail("invalid escape"),
            };
            n = n << 4 | u16::from(v);
        }
        Ok(n)
    }

    /// After `\u`: the character, a UTF-16 surrogate pair counting as one; lone surrogates are errors.
    fn unicode_escape(&mut self) -> Result<char> {
        let n = self.hex4()?;
        if !(0xD800..=0xDFFF).contains(&n) {
            // Every u16 outside the surrogates is a scalar value.
            return char::from_u32(u32::from(n)).map_or_else(|| self.fail("invalid escape"), Ok);
        }
        if n >= 0xDC00 {
            return self.fail("lone leading surrogate in hex escape");
        }
        if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
            self.pos = (self.pos + 1).min(self.bytes.len());
            return self.fail("unexpected end of hex escape");
        }
        self.pos += 2;
        let n2 = self.hex4()?;
        if !(0xDC00..=0xDFFF).contains(&n2) {
            return self.fail("lone leading surrogate in hex escape");
        }
        let c = 0x1_0000 + ((u32::from(n) - 0xD800) << 10 | (u32::from(n2) - 0xDC00));
        char::from_u32(c).map_or_else(|| self.fail("invalid escape"), Ok)
    }

    /// A number value, if one is next (`Ok(None)`, nothing consumed, otherwise).
    pub(crate) fn number(&mut self) -> Result<Option<Num>> {
        match self.peek() {
            Some(b'-') => {
                self.bump();
                self.integer(false).map(Some)
            }
            Some(b'0'..=b'9') => self.integer(true).map(Some),
            _ => Ok(None),
        }
    }

    /// serde_json's `parse_integer`: digits into a `u64` significand while it fits.
    fn integer(&mut self, positive: bool) -> Result<Num> {
        match self.next_byte() {
            None => self.fail("EOF while parsing a value"),
            Some(b'0') => {
                // Only one leading zero.
                if let Some(b'0'..=b'9') = self.raw_peek() {
                    return self.fail("invalid number");
                }
                self.after_integer(positive, 0)
            }
            Some(c @ b'1'..=b'9') => {
                let mut significand = u64::from(c - b'0');
                while let Some(c @ b'0'..=b'9') = self.raw_peek() {
                    let digit = u64::from(c - b'0');
                    if overflows(significand, digit, u64::MAX) {
                        return self.long_integer(positive, significand).map(Num::F64);
                    }
                    self.bump();
                    significand = significand * 10 + digit;
                }
                self.after_integer(positive, significand)
            }
            Some(_) => self.fail("invalid number"),
        }
    }

    /// serde_json's `parse_number`: an integer, or the fraction or exponent that follows it.
    fn after_integer(&mut self, positive: bool, significand: u64) -> Result<Num> {
        Ok(match self.raw_peek() {
            Some(b'.') => Num::F64(self.decimal(positive, significand, 0)?),
            Some(b'e' | b'E') => Num::F64(self.exponent(positive, significand, 0)?),
            _ if positive => Num::U64(significand),
            _ => {
                let neg = (significand as i64).wrapping_neg();
                // Negative zero, and magnitudes beyond i64, become f64.
                if neg >= 0 {
                    Num::F64(-(significand as f64))
                } else {
                    Num::I64(neg)
                }
            }
        })
    }

    /// serde_json's `parse_long_integer`: digits beyond the `u64` significand only scale it.
    fn long_integer(&mut self, positive: bool, significand: u64) -> Result<f64> {
        let mut exponent = 0i32;
        loop {
            match self.raw_peek() {
                Some(b'0'..=b'9') => {
                    self.bump();
                    exponent = exponent.saturating_add(1);
                }
                Some(b'.') => return self.decimal(positive, significand, exponent),
                Some(b'e' | b'E') => return self.exponent(positive, significand, exponent),
                _ => return self.f64_from_parts(positive, significand, exponent),
            }
        }
    }

    /// serde_json's `parse_decimal`, at the `.`.
    fn decimal(
        &mut self,
        positive: bool,
        mut significand: u64,
        exponent_before: i32,
    ) -> Result<f64> {
        self.bump();
        let mut exponent_after = 0i32;
        while let Some(c @ b'0'..=b'9') = self.raw_peek() {
            let digit = u64::from(c - b'0');
            if overflows(significand, digit, u64::MAX) {
                return self.decimal_overflow(
                    positive,
                    significand,
                    exponent_before + exponent_after,
                );
            }
            self.bump();
            significand = significand * 10 + digit;
            exponent_after -= 1;
        }
        if exponent_after == 0 {
            return match self.raw_peek() {
                Some(_) => self.fail("invalid number"),
                None => self.fail("EOF while parsing a value"),
            };
        }
        let exponent = exponent_before + exponent_after;
        match self.raw_peek() {
            Some(b'e' | b'E') => self.exponent(positive, significand, exponent),
            _ => self.f64_from_parts(positive, significand, exponent),
        }
    }

    /// serde_json's `parse_decimal_overflow`: fraction digits beyond the significand are dropped.
    fn decimal_overflow(&mut self, positive: bool, significand: u64, exponent: i32) -> Result<f64> {
        while let Some(b'0'..=b'9') = self.raw_peek() {
            self.bump();
        }
        match self.raw_peek() {
            Some(b'e' | b'E') => self.exponent(positive, significand, exponent),
            _ => self.f64_from_parts(positive, significand, exponent),
        }
    }

    /// serde_json's `parse_exponent`, at the `e` or `E`.
    fn exponent(&mut self, positive: bool, significand: u64, starting_exp: i32) -> Result<f64> {
        self.bump();
        let positive_exp = match self.raw_peek() {
            Some(b'+') => {
                self.bump();
                true
            }
            Some(b'-') => {
                self.bump();
                false
            }
            _ => true,
        };
        let mut exp = match self.next_byte() {
            None => return self.fail("EOF while parsing a value"),
            Some(c @ b'0'..=b'9') => i32::from(c - b'0'),
            Some(_) => return self.fail("invalid number"),
        };
        while let Some(c @ b'0'..=b'9') = self.raw_peek() {
            self.bump();
            let digit = i32::from(c - b'0');
            if overflows(exp as u64, digit as u64, i32::MAX as u64) {
                // An exponent beyond i32: zero, or (positive exponent, nonzero significand) out of range.
                if significand != 0 && positive_exp {
                    return self.fail("number out of range");
                }
                while let Some(b'0'..=b'9') = self.raw_peek() {
                    self.bump();
                }
                return Ok(if positive { 0.0 } else { -0.0 });
            }
            exp = exp * 10 + digit;
        }
        let exponent = if positive_exp {
            starting_exp.saturating_add(exp)
        } else {
            starting_exp.saturating_sub(exp)
        };
        self.f64_from_parts(positive, significand, exponent)
    }

    /// serde_json's `f64_from_parts` (without its `float_roundtrip` feature): `significand * 10^exponent` by
    /// one multiplication or division with a correctly rounded power of ten; infinity is an error.
    fn f64_from_parts(&self, positive: bool, significand: u64, mut exponent: i32) -> Result<f64> {
        let mut f = significand as f64;
        loop {
            match POW10.get(exponent.unsigned_abs() as usize) {
                Some(&pow) => {
                    if exponent >= 0 {
                        f *= pow;
                        if f.is_infinite() {
                            return self.fail("number out of range");
                        }
                    } else {
                        f /= pow;
                    }
                    break;
                }
                None => {
                    if f == 0.0 {
                        break;
                    }
                    if exponent >= 0 {
                        return self.fail("number out of range");
                    }
                    f /= 1e308;
                    exponent += 308;
                }
            }
        }
        Ok(if positive { f } else { -f })
    }

    /// Any value, as serde_json's `Value` (objects keep the last of repeated keys).
    pub(crate) fn value(&mut self) -> Result<Value> {
        if let Some(n) = self.number()? {
            return Ok(match n {
                Num::U64(u) => Value::from(u),
                Num::I64(i) => Value::from(i),
                Num::F64(f) => Value::from(f),
            });
        }
        if let Some(s) = self.string()? {
            return Ok(Value::String(s));
        }
        if self.begin_array()? {
            let (mut items, mut first) = (Vec::new(), true);
            while self.next_element(&mut first)? {
                items.push(self.value()?);
            }
            self.end_array()?;
            return Ok(Value::Array(items));
        }
        if self.begin_object()? {
            // Collected, then built in one go: `BTreeMap`'s `FromIterator` sorts stably and keeps the last of equal
            // keys, as inserting one by one does, and a writer's already sorted keys cost no search per insert
            // (the inserts were a quarter of the metadata's parse).
            let (mut entries, mut first) = (Vec::new(), true);
            while let Some(key) = self.next_key(&mut first)? {
                let v = self.value()?;
                entries.push((key.into_owned(), v));
            }
            self.end_object()?;
            return Ok(Value::Object(
                entries.into_iter().collect::<Map<String, Value>>(),
            ));
        }
        match self.peek() {
            Some(b'n') => self.word(b"null").map(|()| Value::Null),
            Some(b't') => self.word(b"true").map(|()| Value::Bool(true)),
            Some(b'f') => self.word(b"false").map(|()| Value::Bool(false)),
            Some(_) => self.fail("expected value"),
            None => self.fail("EOF while parsing a value"),
        }
    }

    /// Checks that a value follows, exactly as [`Reader::value`] would accept it (nesting limit counted from the
    /// current depth, strings decoded and checked for UTF-8 and surrogates, numbers range-checked), without
    /// building it: returns the value's text, from its first byte to its last.
    ///
    /// A text it returns is itself a document that [`Reader::value`] reads (from depth 0, so with at least the
    /// room it had here), giving the value `value()` would have given at this point.
    pub(crate) fn checked_value_text(&mut self) -> Result<&'a [u8]> {
        self.peek();
        let start = self.pos;
        self.check_value()?;
        Ok(&self.bytes[start..self.pos])
    }

    /// The acceptance of [`Reader::value`] without building anything (strings with escapes aside).
    fn check_value(&mut self) -> Result<()> {
        if self.check_number()? {
            return Ok(());
        }
        if self.peek() == Some(b'"') {
            self.bump();
            return self.check_string_body();
        }
        if self.begin_array()? {
            let mut first = true;
            while self.next_element(&mut first)? {
                self.check_value()?;
            }
            return self.end_array();
        }
        if self.begin_object()? {
            let mut first = true;
            while self.next_key_checked(&mut first)? {
                self.check_value()?;
            }
            return self.end_object();
        }
        match self.peek() {
            Some(b'n') => self.word(b"null"),
            Some(b't') => self.word(b"true"),
            Some(b'f') => self.word(b"false"),
            Some(_) => self.fail("expected value"),
            None => self.fail("EOF while parsing a value"),
        }
    }

    /// After an opening quote: the string checked as [`Reader::string_body`] checks it, without decoding it.
    fn check_string_body(&mut self) -> Result<()> {
        if self.plain_ascii_body().is_some() {
            return Ok(());
        }
        self.string_body().map(drop)
    }

    /// After an opening quote: the string's bytes if they are plain ASCII up to the closing quote (consumed), in
    /// one pass with no UTF-8 validation to call (ASCII is UTF-8); `None`, nothing consumed, when it has escapes,
    /// control characters, other bytes or no closing quote, which [`Reader::string_body`] then decides and
    /// reports exactly as always.
    fn plain_ascii_body(&mut self) -> Option<&'a [u8]> {
        let bytes: &'a [u8] = self.bytes;
        let start = self.pos;
        let rest = bytes.get(start..)?;
        let mut high = 0u8;
        for (k, &b) in rest.iter().enumerate() {
            if b == b'"' {
                if high >= 0x80 {
                    return None;
                }
                self.pos = start + k + 1;
                return Some(&rest[..k]);
            }
            if b == b'\\' || b < 0x20 {
                return None;
            }
            high |= b;
        }
        None
    }

    /// Inside an object: the position in `names` of the next key (`Some(None)` for another key; the comma before
    /// and the colon after it consumed), or `None` at `}`: [`Reader::next_key`] compared with the names, without
    /// validating a plain ASCII key as UTF-8 or building it.
    pub(crate) fn next_field(
        &mut self,
        first: &mut bool,
        names: &[&str],
    ) -> Result<Option<Option<usize>>> {
        if !self.key_start(first)? {
            return Ok(None);
        }
        let i = match self.plain_ascii_body() {
            Some(key) => names.iter().position(|n| n.as_bytes() == key),
            None => {
                let key = self.string_body()?;
                names.iter().position(|&n| n == key)
            }
        };
        self.colon()?;
        Ok(Some(i))
    }

    /// Whether a number followed, checked as [`Reader::number`] reads it (same acceptance, same errors).
    ///
    /// The decimals a writer produces, `-?(0|[1-9][0-9]*)(.[0-9]+)?` with at most 300 integer digits and no
    /// exponent, are valid and finite (below 10^301), so they are only scanned; anything else, errors included,
    /// is read by `number()`.
    fn check_number(&mut self) -> Result<bool> {
        let start = match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.pos,
            _ => return Ok(false),
        };
        let b = &self.bytes[start..];
        let digits =
            |from: usize| from + b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
        let int_start = usize::from(b[0] == b'-');
        let mut end = digits(int_start);
        let int_digits = end - int_start;
        let mut plain =
            (1..=300).contains(&int_digits) && (b[int_start] != b'0' || int_digits == 1);
        if plain && b.get(end) == Some(&b'.') {
            let frac_end = digits(end + 1);
            plain = frac_end > end + 1;
            end = frac_end;
        }
        if plain && !matches!(b.get(end), Some(b'e' | b'E')) {
            self.pos = start + end;
            return Ok(true);
        }
        self.number().map(|n| n.is_some())
    }

    /// Skips any value, checking only its syntax: serde_json's `ignore_value` (no nesting limit, so an
    /// explicit stack instead of recursion; strings not checked for UTF-8 nor surrogates; numbers not range
    /// checked).
    pub(crate) fn skip_value(&mut self) -> Result<()> {
        let mut stack: Vec<u8> = Vec::new();
        loop {
            // One value: a scalar, or the opening bracket of a container.
            let opened = match self.peek() {
                None => return self.fail("EOF while parsing a value"),
                Some(b'n') => self.word(b"null").map(|()| None)?,
                Some(b't') => self.word(b"true").map(|()| None)?,
                Some(b'f') => self.word(b"false").map(|()| None)?,
                Some(b'-') => {
                    self.bump();
                    self.skip_number()?;
                    None
                }
                Some(b'0'..=b'9') => {
                    self.skip_number()?;
                    None
                }
                Some(b'"') => {
                    self.bump();
                    self.skip_string()?;
                    None
                }
                Some(b @ (b'[' | b'{')) => {
                    self.bump();
                    Some(b)
                }
                Some(_) => return self.fail("expected value"),
            };
            let (mut frame, mut after_value) = match opened {
                Some(b) => (b, false),
                None => match stack.pop() {
                    Some(b) => (b, true),
                    None => return Ok(()),
                },
            };
            // Close every container that ends here; stop before the next value.
            loop {
                match self.peek() {
                    Some(b',') if after_value => {
                        self.bump();
                        break;
                    }
                    Some(b']') if frame == b'[' => {}
                    Some(b'}') if frame == b'{' => {}
                    Some(_) if after_value => {
                        return self.fail(if frame == b'[' {
                            "expected `,` or `]`"
                        } else {
                            "expected `,` or `}`"
                        });
                    }
                    Some(_) => break,
                    None => {
                        return self.fail(if frame == b'[' {
                            "EOF while parsing a list"
                        } else {
                            "EOF while parsing an object"
                        });
                    }
                }
                self.bump();
                match stack.pop() {
                    Some(b) => frame = b,
                    None => return Ok(()),
                }
                after_value = true;
            }
            if frame == b'{' {
                match self.peek() {
                    Some(b'"') => self.bump(),
                    Some(_) => return self.fail("key must be a string"),
                    None => return self.fail("EOF while parsing an object"),
                }
                self.skip_string()?;
                self.colon()?;
            }
            stack.push(frame);
        }
    }

    /// serde_json's `ignore_integer` and what follows it, after an optional minus sign.
    fn skip_number(&mut self) -> Result<()> {
        match self.next_byte() {
            Some(b'0') => {
                if let Some(b'0'..=b'9') = self.raw_peek() {
                    return self.fail("invalid number");
                }
            }
            Some(b'1'..=b'9') => self.skip_digits(),
            _ => return self.fail("invalid number"),
        }
        if self.raw_peek() == Some(b'.') {
            self.bump();
            if !matches!(self.raw_peek(), Some(b'0'..=b'9')) {
                return self.fail("invalid number");
            }
            self.skip_digits();
        }
        if let Some(b'e' | b'E') = self.raw_peek() {
            self.bump();
            if let Some(b'+' | b'-') = self.raw_peek() {
                self.bump();
            }
            if !matches!(self.next_byte(), Some(b'0'..=b'9')) {
                return self.fail("invalid number");
            }
            self.skip_digits();
        }
        Ok(())
    }

    fn skip_digits(&mut self) {
        while let Some(b'0'..=b'9') = self.raw_peek() {
            self.bump();
        }
    }

    /// serde_json's `ignore_str`, after the opening quote: escapes checked for syntax, control characters
    /// refused, bytes otherwise unchecked.
    fn skip_string(&mut self) -> Result<()> {
        loop {
            self.pos += self.plain_run();
            match self.next_byte() {
                None => return self.fail("EOF while parsing a string"),
                Some(b'"') => return Ok(()),
                Some(b'\\') => match self.next_byte() {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {}
                    Some(b'u') => {
                        self.hex4()?;
                    }
                    None => return self.fail("EOF while parsing a string"),
                    Some(_) => return self.fail("invalid escape"),
                },
                Some(_) => {
                    return self
                        .fail("control character (\\u0000-\\u001F) found while parsing a string")
                }
            }
        }
    }
}

/// 10^0 ..= 10^308, each the correctly rounded f64 (serde_json's table).
static POW10: [f64; 309] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28, 1e29, 1e30, 1e31, 1e32,
    1e33, 1e34, 1e35, 1e36, 1e37, 1e38, 1e39, 1e40, 1e41, 1e42, 1e43, 1e44, 1e45, 1e46, 1e47, 1e48,
    1e49, 1e50, 1e51, 1e52, 1e53, 1e54, 1e55, 1e56, 1e57, 1e58, 1e59, 1e60, 1e61, 1e62, 1e63, 1e64,
    1e65, 1e66, 1e67, 1e68, 1e69, 1e70, 1e71, 1e72, 1e73, 1e74, 1e75, 1e76, 1e77, 1e78, 1e79, 1e80,
    1e81, 1e82, 1e83, 1e84, 1e85, 1e86, 1e87, 1e88, 1e89, 1e90, 1e91, 1e92, 1e93, 1e94, 1e95, 1e96,
    1e97, 1e98, 1e99, 1e100, 1e101, 1e102, 1e103, 1e104, 1e105, 1e106, 1e107, 1e108, 1e109, 1e110,
    1e111, 1e112, 1e113, 1e114, 1e115, 1e116, 1e117, 1e118, 1e119, 1e120, 1e121, 1e122, 1e123,
    1e124, 1e125, 1e126, 1e127, 1e128, 1e129, 1e130, 1e131, 1e132, 1e133, 1e134, 1e135, 1e136,
    1e137, 1e138, 1e139, 1e140, 1e141, 1e142, 1e143, 1e144, 1e145, 1e146, 1e147, 1e148, 1e149,
    1e150, 1e151, 1e152, 1e153, 1e154, 1e155, 1e156, 1e157, 1e158, 1e159, 1e160, 1e161, 1e162,
    1e163, 1e164, 1e165, 1e166, 1e167, 1e168, 1e169, 1e170, 1e171, 1e172, 1e173, 1e174, 1e175,
    1e176, 1e177, 1e178, 1e179, 1e180, 1e181, 1e182, 1e183, 1e184, 1e185, 1e186, 1e187, 1e188,
    1e189, 1e190, 1e191, 1e192, 1e193, 1e194, 1e195, 1e196, 1e197, 1e198, 1e199, 1e200, 1e201,
    1e202, 1e203, 1e204, 1e205, 1e206, 1e207, 1e208, 1e209, 1e210, 1e211, 1e212, 1e213, 1e214,
    1e215, 1e216, 1e217, 1e218, 1e219, 1e220, 1e221, 1e222, 1e223, 1e224, 1e225, 1e226, 1e227,
    1e228, 1e229, 1e230, 1e231, 1e232, 1e233, 1e234, 1e235, 1e236, 1e237, 1e238, 1e239, 1e240,
    1e241, 1e242, 1e243, 1e244, 1e245, 1e246, 1e247, 1e248, 1e249, 1e250, 1e251, 1e252, 1e253,
    1e254, 1e255, 1e256, 1e257, 1e258, 1e259, 1e260, 1e261, 1e262, 1e263, 1e264, 1e265, 1e266,
    1e267, 1e268, 1e269, 1e270, 1e271, 1e272, 1e273, 1e274, 1e275, 1e276, 1e277, 1e278, 1e279,
    1e280, 1e281, 1e282, 1e283, 1e284, 1e285, 1e286, 1e287, 1e288, 1e289, 1e290, 1e291, 1e292,
    1e293, 1e294, 1e295, 1e296, 1e297, 1e298, 1e299, 1e300, 1e301, 1e302, 1e303, 1e304, 1e305,
    1e306, 1e307, 1e308,
];
