//! JSON text exactly as JavaScript's `JSON.stringify` writes it.
//!
//! `opencode export` prints `JSON.stringify(doc, null, 2)` and OpenCode's SQLite columns hold
//! `JSON.stringify(value)`; to be byte-equal with both we write through serde_json with one
//! change: numbers are spelled as ECMAScript's `Number::toString` spells them (`1` not `1.0`,
//! `1e+21`, `1e-7`, integers beyond 2^53 rounded to a double). serde_json already lays out
//! and escapes strings the way `JSON.stringify` does (`\n`, `\u001f` in lowercase hex, DEL and
//! non-ASCII raw), so everything but the numbers is delegated to its own formatters.
//!
//! JavaScript strings are UTF-16 and may hold a lone surrogate (half an emoji, cut by a
//! `slice`); `JSON.stringify` writes it as an escape (`"\ud83d"`) and OpenCode stores that
//! text. serde_json refuses such escapes and a Rust `String` cannot hold them, so [`parse`]
//! keeps each one as a private pair of characters ([`LONE_MARK`] and a plane-16 private-use
//! character that encodes the unit) and the writers here turn the pair back into the very
//! same escape. Text shown to people instead shows U+FFFD ([`replace_lone_surrogates`]).

use serde::{Serialize, Serializer};
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};
use serde_json::Value;
use std::borrow::Cow;
use std::io::{self, Write};

/// `JSON.stringify(value, null, 2)`, without a trailing newline.
pub fn pretty<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut buf = Vec::with_capacity(4096);
    let formatter = JsNumbers(PrettyFormatter::with_indent(b"  "));
    write(&mut buf, formatter, value);
    buf
}

/// [`pretty`] and a newline: what `opencode export` prints, and how every JSON file we write
/// ends.
pub fn pretty_line<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut bytes = pretty(value);
    bytes.push(b'\n');
    bytes
}

/// `JSON.stringify(value)`: compact, keys as written (what OpenCode stores in its JSON text
/// columns).
pub fn compact<T: Serialize + ?Sized>(value: &T) -> String {
    let mut buf = Vec::new();
    write(&mut buf, JsNumbers(CompactFormatter), value);
    String::from_utf8(buf).expect("serde_json writes UTF-8")
}

/// Compact JSON with every object's keys sorted: equal for equal values, whatever the key
/// order or number spelling of the text they were read from.
pub fn canonical(value: &Value) -> Vec<u8> {
    let mut buf = Vec::new();
    write(&mut buf, JsNumbers(CompactFormatter), &SortedKeys(value));
    buf
}

/// `JSON.parse(text)`: like `serde_json::from_str`, and lone surrogate escapes are kept.
pub fn parse(text: &str) -> serde_json::Result<Value> {
    parse_as(text)
}

/// [`parse`] of bytes; text that is not UTF-8 fails as `serde_json::from_slice` fails.
pub fn parse_slice(bytes: &[u8]) -> serde_json::Result<Value> {
    parse_slice_as(bytes)
}

/// [`parse`] straight into a `T`, with no [`Value`] made on the way.
pub fn parse_as<T: serde::de::DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    match keep_lone_surrogates(text) {
        Cow::Borrowed(text) => serde_json::from_str(text),
        Cow::Owned(text) => serde_json::from_str(&text),
    }
}

/// [`parse_slice`] straight into a `T`.
pub fn parse_slice_as<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_as(text),
        Err(_) => serde_json::from_slice(bytes),
    }
}

/// Starts the private pair that stands for a lone surrogate. A noncharacter (Unicode keeps
/// these for a program's internal use) followed by a plane-16 private-use character: no
/// text a person or a tool writes holds that sequence.
pub const LONE_MARK: char = '\u{10FFFF}';
/// The second character of the pair is `LONE_BASE + (unit - 0xD800)`.
const LONE_BASE: u32 = 0x10_0000;

/// The UTF-16 unit a pair's second character stands for.
fn lone_unit(c: char) -> Option<u32> {
    let offset = u32::from(c).checked_sub(LONE_BASE)?;
    (offset < 0x800).then_some(0xD800 + offset)
}

/// `text` with every `\uXXXX` escape of a lone surrogate replaced by its private pair;
/// borrowed when there is none (the common case costs one scan for a backslash).
fn keep_lone_surrogates(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let hex4 = |at: usize| -> Option<u32> {
        let digits = std::str::from_utf8(bytes.get(at..at + 4)?).ok()?;
        u32::from_str_radix(digits, 16).ok()
    };
    let surrogate_escape = |at: usize| -> Option<u32> {
        (bytes.get(at) == Some(&b'\\') && bytes.get(at + 1) == Some(&b'u'))
            .then(|| hex4(at + 2))
            .flatten()
            .filter(|unit| (0xD800..=0xDFFF).contains(unit))
    };
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while let Some(offset) = bytes[i..].iter().position(|&b| b == b'\\') {
        let at = i + offset;
        // An escape is two bytes, `\uXXXX` six: stepping over whole escapes keeps `\\u`
        // (an escaped backslash, then `u`) from being read as one.
        let Some(unit) = surrogate_escape(at) else {
            i = at
                + if bytes.get(at + 1) == Some(&b'u') {
                    6
                } else {
                    2
                };
            continue;
        };
        let paired_low = surrogate_escape(at + 6).filter(|low| *low >= 0xDC00);
        if unit < 0xDC00 && paired_low.is_some() {
            i = at + 12;
            continue;
        }
        out.push_str(&text[copied..at]);
        out.push(LONE_MARK);
        out.push(char::from_u32(LONE_BASE + (unit - 0xD800)).expect("plane 16 character"));
        copied = at + 6;
        i = copied;
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// `text` for people: each lone surrogate [`parse`] kept shows as U+FFFD, as a browser or
/// terminal shows it.
pub fn replace_lone_surrogates(text: &str) -> Cow<'_, str> {
    if !text.contains(LONE_MARK) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == LONE_MARK && chars.peek().copied().and_then(lone_unit).is_some() {
            chars.next();
            out.push(char::REPLACEMENT_CHARACTER);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`canonical`], written into `out` as it is produced (no copy of the whole text).
pub fn write_canonical(out: &mut impl Write, value: &Value) -> io::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(out, JsNumbers(CompactFormatter));
    SortedKeys(value)
        .serialize(&mut serializer)
        .map_err(io::Error::from)
}

fn write<T: Serialize + ?Sized>(buf: &mut Vec<u8>, formatter: impl Formatter, value: &T) {
    let mut serializer = serde_json::Serializer::with_formatter(buf, formatter);
    value
        .serialize(&mut serializer)
        .expect("our documents serialize into a Vec without error");
}

/// Serializes a value with the keys of each object in sorted order.
struct SortedKeys<'a>(&'a Value);

impl Serialize for SortedKeys<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Array(items) => serializer.collect_seq(items.iter().map(SortedKeys)),
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_unstable_by_key(|(key, _)| *key);
                serializer.collect_map(entries.into_iter().map(|(k, v)| (k, SortedKeys(v))))
            }
            scalar => scalar.serialize(serializer),
        }
    }
}

/// Integers a double holds exactly; JavaScript prints larger ones rounded.
const MAX_SAFE_INTEGER: u64 = 1 << 53;

/// A formatter that writes numbers as JavaScript does and leaves the rest to `F`.
struct JsNumbers<F>(F);

impl<F: Formatter> Formatter for JsNumbers<F> {
    fn write_i64<W: ?Sized + Write>(&mut self, writer: &mut W, value: i64) -> io::Result<()> {
        if value.unsigned_abs() <= MAX_SAFE_INTEGER {
            self.0.write_i64(writer, value)
        } else {
            writer.write_all(format_f64(value as f64).as_bytes())
        }
    }

    fn write_u64<W: ?Sized + Write>(&mut self, writer: &mut W, value: u64) -> io::Result<()> {
        if value <= MAX_SAFE_INTEGER {
            self.0.write_u64(writer, value)
        } else {
            writer.write_all(format_f64(value as f64).as_bytes())
        }
    }

    fn write_f64<W: ?Sized + Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(format_f64(value).as_bytes())
    }

    /// Unescaped runs of a string: the private pair of a lone surrogate becomes its escape
    /// again, lowercase as `JSON.stringify` writes it.
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut rest = fragment;
        while let Some(at) = rest.find(LONE_MARK) {
            let after = &rest[at + LONE_MARK.len_utf8()..];
            match after.chars().next().and_then(lone_unit) {
                Some(unit) => {
                    self.0.write_string_fragment(writer, &rest[..at])?;
                    write!(writer, "\\u{unit:04x}")?;
                    rest = &after[4..]; // a plane-16 character is 4 bytes of UTF-8
                }
                None => {
                    self.0.write_string_fragment(writer, &rest[..at])?;
                    self.0
                        .write_string_fragment(writer, &rest[at..at + LONE_MARK.len_utf8()])?;
                    rest = after;
                }
            }
        }
        self.0.write_string_fragment(writer, rest)
    }

    // The layout is the inner formatter's: these are the methods `PrettyFormatter` overrides.
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_array(writer)
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array(writer)
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(writer, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array_value(writer)
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object(writer)
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object(writer)
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(writer, first)
    }

    fn end_object_key<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_key(writer)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object_value(writer)
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_value(writer)
    }
}

/// ECMAScript `Number::toString(x)` for finite doubles (non-finite become `null`, as in JSON).
pub fn format_f64(x: f64) -> String {
    if !x.is_finite() {
        return "null".to_owned();
    }
    if x == 0.0 {
        return "0".to_owned(); // also -0
    }
    let mut buf = ryu::Buffer::new();
    let shortest = buf.format_finite(x.abs());
    let (digits, exponent) = decimal_digits(shortest);
    // `n` as in the spec: the value is 0.digits × 10^n.
    let k = digits.len() as i32;
    let n = exponent + k;
    let mut s = String::with_capacity(24);
    if x < 0.0 {
        s.push('-');
    }
    if k <= n && n <= 21 {
        s.push_str(&digits);
        s.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        s.push_str(&digits[..n as usize]);
        s.push('.');
        s.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        s.push_str("0.");
        s.extend(std::iter::repeat_n('0', (-n) as usize));
        s.push_str(&digits);
    } else {
        let e = n - 1;
        s.push_str(&digits[..1]);
        if k > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        s.push('e');
        s.push(if e >= 0 { '+' } else { '-' });
        s.push_str(&e.abs().to_string());
    }
    s
}

/// Splits ryu's shortest representation into significant digits (no leading or trailing
/// zeros) and the power of ten of the last digit.
fn decimal_digits(repr: &str) -> (String, i32) {
    let (mantissa, exp) = match repr.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().expect("ryu exponent")),
        None => (repr, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits: String = format!("{int_part}{frac_part}");
    let mut exponent = exp - frac_part.len() as i32;
    let trimmed_start = digits.trim_start_matches('0').len();
    digits = digits[digits.len() - trimmed_start..].to_owned();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
        exponent += 1;
    }
    (digits, exponent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_match_javascript() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (1.0, "1"),
            (-2.5, "-2.5"),
            (0.1, "0.1"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (123456789012345680000.0, "123456789012345680000"),
            (1e-6, "0.000001"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (0.000123, "0.000123"),
            (1795528139191.0, "1795528139191"),
            (0.30000000000000004, "0.30000000000000004"),
            (2.5e25, "2.5e+25"),
        ];
        for (x, want) in cases {
            assert_eq!(format_f64(*x), *want, "{x}");
        }
        for (text, want) in [
            ("9007199254740993", "9007199254740992"),
            ("-9007199254740993", "-9007199254740992"),
            ("9007199254740992", "9007199254740992"),
            ("-42", "-42"),
            ("1.0", "1"),
            ("-0.0", "0"),
        ] {
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(pretty(&value), want.as_bytes(), "{text}");
            assert_eq!(compact(&value), want, "{text}");
        }
    }

    #[test]
    fn layout_and_escaping_match_json_stringify() {
        let v = json!({"a": [], "b": {}, "c": [1, {"d": "x\"\\\n\t\u{1}\u{8}\u{c}\u{1f}\u{7f}é😀"}], "e": null});
        let text = String::from_utf8(pretty(&v)).unwrap();
        let want = "{\n  \"a\": [],\n  \"b\": {},\n  \"c\": [\n    1,\n    {\n      \"d\": \"x\\\"\\\\\\n\\t\\u0001\\b\\f\\u001f\u{7f}é😀\"\n    }\n  ],\n  \"e\": null\n}";
        assert_eq!(text, want);
        assert_eq!(pretty_line(&v), format!("{want}\n").into_bytes());
    }

    #[test]
    fn compact_json_is_javascript_json() {
        let v: Value = serde_json::from_str(r#"{"b":1.0,"a":[1e21,"x\u0001",{}]}"#).unwrap();
        assert_eq!(compact(&v), r#"{"b":1,"a":[1e+21,"x\u0001",{}]}"#);
    }

    #[test]
    fn lone_surrogates_are_parsed_and_written_as_json_stringify_writes_them() {
        // What `JSON.stringify` gives for half an emoji, both halves alone, reversed halves,
        // an upper-case escape, a whole emoji as a pair of escapes, and an escaped backslash
        // before a `u` (not an escape).
        let text = r#"{"a":"x\ud83dy","b":["\udc00","\ude00\ud83d","\uD83D"],"\udbff":"\ud83d\ude00 \\ud800"}"#;
        let value = parse(text).unwrap();
        assert_eq!(
            compact(&value),
            r#"{"a":"x\ud83dy","b":["\udc00","\ude00\ud83d","\ud83d"],"\udbff":"😀 \\ud800"}"#
        );
        assert_eq!(parse_slice(text.as_bytes()).unwrap(), value);
        let pretty = String::from_utf8(pretty(&value["b"])).unwrap();
        assert_eq!(
            pretty,
            "[\n  \"\\udc00\",\n  \"\\ude00\\ud83d\",\n  \"\\ud83d\"\n]"
        );
        assert_eq!(
            replace_lone_surrogates(value["a"].as_str().unwrap()),
            "x\u{fffd}y"
        );
        // Text without lone surrogates is parsed as serde_json parses it, and the mark alone
        // (not followed by a pair's second character) is written as it is.
        let plain = "{\"k\":\"\\u00e9\\n\u{10FFFF}z\"}";
        assert_eq!(
            parse(plain).unwrap(),
            serde_json::from_str::<Value>(plain).unwrap()
        );
        assert_eq!(
            compact(&parse(plain).unwrap()),
            "{\"k\":\"é\\n\u{10FFFF}z\"}"
        );
        assert!(parse(r#"{"a":"\ud83d"#).is_err());
    }

    #[test]
    fn canonical_sorts_keys_at_every_level() {
        let a: Value = serde_json::from_str(r#"{"b":[{"y":1,"x":2.0}],"a":null}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":null,"b":[{"x":2,"y":1}]}"#).unwrap();
        assert_eq!(canonical(&a), canonical(&b));
        assert_eq!(canonical(&a), br#"{"a":null,"b":[{"x":2,"y":1}]}"#);
    }
}
