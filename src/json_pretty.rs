//! `JSON.stringify(JSON.parse(text), null, 2)` straight from the text, without the tree.
//!
//! OpenCode stores every message and part as `JSON.stringify(value)`: canonical compact JSON.
//! Parsing such a row into a [`serde_json::Value`] only to print it again with indentation
//! allocates a map per object and a string per string, which was most of what `pack` did on a
//! store of small sessions. Canonical text can instead be re-indented as it is read: the
//! bytes of every string, number and literal stay what they are.
//!
//! The fast path must give exactly the bytes of the slow one ([`crate::json::pretty`] of the
//! parsed value), so it accepts only text whose tokens are already in the form those writers
//! produce, and answers [`NotCanonical`] for anything else: an escape `JSON.stringify` would
//! not write (`\/`, `\u0041`, any surrogate), a number it would spell differently (`1.0`,
//! `1e2`, integers beyond 2^53), a repeated key (a parsed object keeps one), nesting deeper
//! than serde_json parses, or malformed JSON. The caller then takes the slow path, which
//! also reports malformed rows as it always did.

use crate::json::format_f64;

/// The text is not in the canonical form the fast path handles; take the slow path.
#[derive(Debug, PartialEq, Eq)]
pub struct NotCanonical;

type Fast<T = ()> = Result<T, NotCanonical>;

/// serde_json refuses to parse deeper nesting than 128; stay well inside it.
const MAX_DEPTH: usize = 100;

/// Integers a double holds exactly; larger ones are printed rounded (see `crate::json`).
const MAX_SAFE_INTEGER: u64 = 1 << 53;

/// Appends `depth` levels of two-space indentation.
pub fn indent(out: &mut Vec<u8>, depth: usize) {
    const SPACES: [u8; 2 * (MAX_DEPTH + 8)] = [b' '; 2 * (MAX_DEPTH + 8)];
    match SPACES.get(..2 * depth) {
        Some(spaces) => out.extend_from_slice(spaces),
        None => out.extend(std::iter::repeat_n(b' ', 2 * depth)),
    }
}

/// Keys an object is printed with besides its own, all plain string values: `leading`
/// before them, as `{id, type, ...data}` sets them, and `trailing` after them, as
/// `{...data, id, sessionID}` does. A key of either already in the text would keep its
/// place (or lose its value): that rare case is left to the slow path.
#[derive(Clone, Copy, Default)]
pub struct Around<'a> {
    pub leading: &'a [(&'a str, &'a str)],
    pub trailing: &'a [(&'a str, &'a str)],
}

impl Around<'_> {
    fn has(&self, key: &[u8]) -> bool {
        let same = |(k, _): &&(&str, &str)| k.as_bytes() == key;
        self.leading.iter().any(|kv| same(&kv)) || self.trailing.iter().any(|kv| same(&kv))
    }
}

/// Appends the pretty form of the compact JSON object `text` nested `depth` levels deep (as
/// `crate::json::pretty` lays out a value at that depth), with the keys of `around` set
/// before and after its own. `keys` is room for the keys being read, passed in so that one
/// allocation serves every row of a session. Returns the text of the value of the object's
/// own key `wanted`, if it has that key, for a caller that looks at one field without
/// parsing the row.
pub fn object_around<'t>(
    out: &mut Vec<u8>,
    text: &'t str,
    depth: usize,
    around: Around<'_>,
    keys: &mut Vec<&'t [u8]>,
    wanted: Option<&str>,
) -> Fast<Option<&'t str>> {
    let start = out.len();
    keys.clear();
    let mut reader = Reader {
        text: text.as_bytes(),
        at: 0,
        out: &mut *out,
        keys,
        wanted: wanted.map(str::as_bytes),
        found: None,
    };
    let result = reader.top_object(depth, around);
    let found = reader.found.clone();
    if result.is_err() {
        out.truncate(start);
    }
    // The value is one whole token of `text`, so its ends are on character boundaries.
    result.map(|()| found.map(|range| &text[range]))
}

/// [`object_around`] with keys after the object's own only, as `{...data, id, sessionID}`.
pub fn object_with<'t>(
    out: &mut Vec<u8>,
    text: &'t str,
    depth: usize,
    trailing: &[(&str, &str)],
    keys: &mut Vec<&'t [u8]>,
) -> Fast {
    let around = Around {
        leading: &[],
        trailing,
    };
    object_around(out, text, depth, around, keys, None).map(drop)
}

/// Appends `value` printed as `crate::json::pretty` prints it, nested `depth` levels deep:
/// every line after the first indented by `depth` levels.
pub fn nested<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T, depth: usize) {
    let printed = crate::json::pretty(value);
    // Strings hold no raw line break, so every line break is the printer's own.
    for (i, line) in printed.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.push(b'\n');
            indent(out, depth);
        }
        out.extend_from_slice(line);
    }
}

/// Appends `s` as a JSON string as `JSON.stringify` writes it; `NotCanonical` for the
/// private characters that stand for lone surrogates (see `crate::json`).
pub fn string(out: &mut Vec<u8>, s: &str) -> Fast {
    // IDs, the usual case, need no escape: printable ASCII without a quote or backslash.
    // A fold without early exit, which the compiler checks many bytes at a time.
    let plain = |b: u8| (0x20..0x7f).contains(&b) & (b != b'"') & (b != b'\\');
    if s.bytes().fold(true, |all, b| all & plain(b)) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return Ok(());
    }
    if s.contains(crate::json::LONE_MARK) {
        return Err(NotCanonical);
    }
    // serde_json escapes strings exactly as JSON.stringify does.
    serde_json::to_writer(&mut *out, s).map_err(|_| NotCanonical)
}

struct Reader<'t, 'o> {
    text: &'t [u8],
    at: usize,
    out: &'o mut Vec<u8>,
    /// The keys of the objects being read, innermost last (see [`Reader::new_key`]).
    keys: &'o mut Vec<&'t [u8]>,
    /// A key of the top object whose value's place in `text` is wanted, and that place.
    wanted: Option<&'o [u8]>,
    found: Option<std::ops::Range<usize>>,
}

impl<'t> Reader<'t, '_> {
    fn top_object(&mut self, depth: usize, around: Around<'_>) -> Fast {
        self.skip_ws();
        if self.peek() != Some(b'{') {
            return Err(NotCanonical);
        }
        let members = self.object(depth, Some(around))?;
        self.skip_ws();
        if self.at != self.text.len() {
            return Err(NotCanonical);
        }
        // Trailing keys go after the object's own; `object` left it open for them.
        let mut first = members == 0;
        for (key, value) in around.trailing {
            self.member(first, depth + 1, key, value)?;
            first = false;
        }
        if first {
            self.out.push(b'}');
        } else {
            self.out.push(b'\n');
            indent(self.out, depth);
            self.out.push(b'}');
        }
        Ok(())
    }

    /// Writes `"key": "value"` as a member of an object, after a separator.
    fn member(&mut self, first: bool, depth: usize, key: &str, value: &str) -> Fast {
        self.out
            .extend_from_slice(if first { b"\n" } else { b",\n" });
        indent(self.out, depth);
        string(self.out, key)?;
        self.out.extend_from_slice(b": ");
        string(self.out, value)
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Fast {
        if depth > MAX_DEPTH {
            return Err(NotCanonical);
        }
        self.skip_ws();
        match self.peek().ok_or(NotCanonical)? {
            b'{' => self.object(depth, None).map(drop),
            b'[' => self.array(depth),
            b'"' => {
                let s = self.string()?;
                self.out.extend_from_slice(s);
                Ok(())
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(NotCanonical),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Fast {
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            self.out.extend_from_slice(word);
            Ok(())
        } else {
            Err(NotCanonical)
        }
    }

    /// An object; with `top` (the keys around the top object's own), its leading keys are
    /// written first and it is left open (no closing brace, nor the line break before it)
    /// for the caller to add the trailing ones. Returns the number of members written.
    fn object(&mut self, depth: usize, top: Option<Around<'_>>) -> Fast<usize> {
        self.at += 1; // '{'
        self.skip_ws();
        // This object's keys are `self.keys[first..]`; `hashes` has a bit set per key.
        let first = self.keys.len();
        let mut hashes = 0u64;
        self.out.push(b'{');
        let mut members = 0;
        for (key, value) in top.map_or(&[][..], |around| around.leading) {
            self.member(members == 0, depth + 1, key, value)?;
            members += 1;
        }
        if self.peek() == Some(b'}') {
            self.at += 1;
            if top.is_none() {
                self.out.push(b'}');
            }
            return Ok(members);
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(NotCanonical);
            }
            self.out
                .extend_from_slice(if members == 0 { b"\n" } else { b",\n" });
            members += 1;
            indent(self.out, depth + 1);
            let key = self.string()?;
            // The quotes are part of `key`; the keys around are plain ASCII.
            let bare = &key[1..key.len() - 1];
            if top.is_some_and(|around| around.has(bare)) {
                return Err(NotCanonical);
            }
            self.new_key(first, &mut hashes, key)?;
            self.out.extend_from_slice(key);
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(NotCanonical);
            }
            self.at += 1;
            self.out.extend_from_slice(b": ");
            let wanted = top.is_some() && self.wanted == Some(bare);
            self.skip_ws();
            let value_start = self.at;
            self.value(depth + 1)?;
            if wanted {
                self.found = Some(value_start..self.at);
            }
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    break;
                }
                _ => return Err(NotCanonical),
            }
        }
        self.keys.truncate(first);
        if top.is_none() {
            self.out.push(b'\n');
            indent(self.out, depth);
            self.out.push(b'}');
        }
        Ok(members)
    }

    /// Records `key` of the object whose keys start at `first`; `NotCanonical` when the
    /// object already has it (a parsed object keeps one of two equal keys; canonical escapes
    /// are unique, so equal keys are equal bytes). A key is compared with the others only
    /// when its bit in `hashes` (by length and last character) is already set, so most keys
    /// are compared with none.
    fn new_key(&mut self, first: usize, hashes: &mut u64, key: &'t [u8]) -> Fast {
        // The quotes are part of `key`: its last character is at `len - 2`, if any.
        let last = key.len().checked_sub(2).map_or(0, |i| key[i]);
        let bit = 1u64 << ((key.len().wrapping_mul(7) ^ usize::from(last)) % 64);
        if *hashes & bit != 0 && self.keys[first..].contains(&key) {
            return Err(NotCanonical);
        }
        *hashes |= bit;
        self.keys.push(key);
        Ok(())
    }

    fn array(&mut self, depth: usize) -> Fast {
        self.at += 1; // '['
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.at += 1;
            self.out.extend_from_slice(b"[]");
            return Ok(());
        }
        self.out.push(b'[');
        let mut first = true;
        loop {
            self.out
                .extend_from_slice(if first { b"\n" } else { b",\n" });
            first = false;
            indent(self.out, depth + 1);
            self.value(depth + 1)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    break;
                }
                _ => return Err(NotCanonical),
            }
        }
        self.out.push(b'\n');
        indent(self.out, depth);
        self.out.push(b']');
        Ok(())
    }

    /// A string token, quotes included, if every escape in it is one `JSON.stringify` writes.
    fn string(&mut self) -> Fast<&'t [u8]> {
        let start = self.at;
        self.at += 1; // '"'
        let text = self.text;
        loop {
            // Skip the plain run up to the next quote or backslash (memchr's SIMD search: strings
            // are most of the text); a raw control character in it is not JSON.
            let rest = &text[self.at..];
            let run = memchr::memchr2(b'"', b'\\', rest).ok_or(NotCanonical)?;
            if rest[..run]
                .iter()
                .fold(false, |control, &b| control | (b < 0x20))
            {
                return Err(NotCanonical);
            }
            self.at += run;
            match text[self.at] {
                b'"' => {
                    self.at += 1;
                    return Ok(&text[start..self.at]);
                }
                b'\\' => {
                    let escape = text.get(self.at + 1).copied().ok_or(NotCanonical)?;
                    match escape {
                        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 2,
                        b'u' => {
                            let hex = text.get(self.at + 2..self.at + 6).ok_or(NotCanonical)?;
                            if !canonical_unicode_escape(hex) {
                                return Err(NotCanonical);
                            }
                            self.at += 6;
                        }
                        _ => return Err(NotCanonical),
                    }
                }
                _ => unreachable!("memchr2 stops at a quote or a backslash"),
            }
        }
    }

    /// A number token, if it is spelled as JavaScript prints its value.
    fn number(&mut self) -> Fast {
        let start = self.at;
        while matches!(
            self.peek(),
            Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        ) {
            self.at += 1;
        }
        let token = &self.text[start..self.at];
        let digits = token.strip_prefix(b"-").unwrap_or(token);
        let plain_integer = !digits.is_empty() && digits.iter().all(u8::is_ascii_digit);
        if plain_integer {
            // No leading zero, no "-0", and a value a double holds exactly.
            let leading_zero = digits.len() > 1 && digits[0] == b'0';
            let minus_zero = token.len() != digits.len() && digits == b"0";
            // Fifteen digits are below 2^53 (9.007e15) without a look at their value.
            let small = digits.len() <= 15
                || (digits.len() == 16
                    && std::str::from_utf8(digits)
                        .ok()
                        .and_then(|d| d.parse::<u64>().ok())
                        .is_some_and(|v| v <= MAX_SAFE_INTEGER));
            if leading_zero || minus_zero || !small {
                return Err(NotCanonical);
            }
        } else {
            let value: f64 = std::str::from_utf8(token)
                .ok()
                .and_then(|t| t.parse().ok())
                .ok_or(NotCanonical)?;
            // Rust's parser accepts forms JSON does not ("1.", ".5", "+1", "inf"): the
            // comparison with JavaScript's spelling turns all of them away.
            if !value.is_finite() || format_f64(value).as_bytes() != token {
                return Err(NotCanonical);
            }
        }
        self.out.extend_from_slice(token);
        Ok(())
    }
}

/// `\uXXXX` as `JSON.stringify` writes it: a control character without a short escape, in
/// lowercase hex. (It also writes lone surrogates so; those are left to the slow path.)
fn canonical_unicode_escape(hex: &[u8]) -> bool {
    let lower_hex = hex
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
    if !lower_hex || &hex[..2] != b"00" {
        return false;
    }
    let Ok(unit) = u8::from_str_radix(std::str::from_utf8(&hex[2..]).unwrap_or("zz"), 16) else {
        return false;
    };
    unit < 0x20 && !matches!(unit, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The slow path: parse, set the extra keys, print at `depth`.
    fn slow(text: &str, depth: usize, extra: &[(&str, &str)]) -> Option<Vec<u8>> {
        let Ok(Value::Object(mut map)) = crate::json::parse(text) else {
            return None;
        };
        for (k, v) in extra {
            map.insert((*k).into(), Value::String((*v).into()));
        }
        // Nest it `depth` levels deep in arrays and cut the wrapper away again.
        let mut value = Value::Object(map);
        for _ in 0..depth {
            value = Value::Array(vec![value]);
        }
        let text = crate::json::pretty(&value);
        let text = String::from_utf8(text).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let inner = &lines[depth..lines.len() - depth];
        let mut joined = inner.join("\n").into_bytes();
        // The first line carries the indentation of its place, which the caller writes.
        let strip = 2 * depth;
        joined.drain(..strip);
        Some(joined)
    }

    fn fast(text: &str, depth: usize, extra: &[(&str, &str)]) -> Option<Vec<u8>> {
        let mut out = b"prefix".to_vec();
        match object_with(&mut out, text, depth, extra, &mut Vec::new()) {
            Ok(()) => Some(out[6..].to_vec()),
            Err(NotCanonical) => {
                assert_eq!(out, b"prefix", "a refusal writes nothing");
                None
            }
        }
    }

    #[track_caller]
    fn same(text: &str) {
        for depth in [0, 1, 4] {
            let escaped = [("id", "q\"b\\s"), ("sessionID", "tab\there\u{7f}")];
            for extra in [
                &[][..],
                &[("id", "prt_1"), ("sessionID", "ses_é")][..],
                &escaped,
            ] {
                let fast = fast(text, depth, extra)
                    .unwrap_or_else(|| panic!("canonical text takes the fast path: {text}"));
                let slow = slow(text, depth, extra).unwrap();
                assert_eq!(
                    String::from_utf8(fast).unwrap(),
                    String::from_utf8(slow).unwrap(),
                    "{text} at depth {depth}"
                );
            }
        }
    }

    #[track_caller]
    fn refused(text: &str) {
        assert_eq!(fast(text, 2, &[("id", "x")]), None, "{text}");
    }

    #[test]
    fn canonical_text_is_reindented_exactly_as_the_parsed_value_is_printed() {
        same(r#"{}"#);
        same(r#"{"a":1}"#);
        same(
            r#"{"type":"tool","tool":"bash","state":{"status":"completed","input":{"command":"ls","description":"list"},"output":"a\nb\t\"c\"\\ \u001f \u0000 é 🎉","metadata":{"exit":0,"truncated":false,"list":[],"obj":{}},"time":{"start":1767225600000,"end":1767225600123}}}"#,
        );
        same(
            r#"{"n":[0,-1,1.5,-0.25,1e+21,1e-7,123456789012345,-999999999999999,9007199254740992,0.1,100,2.5e-8,null,true,false]}"#,
        );
        same("{\"raw\":\"\u{7f} \u{2028} \u{10ffff}\"}");
        same(r#"{"deep":[[[{"x":[{"y":{}}]}]]],"after":"x"}"#);
        same(r#"{"a":[{"b":1},{"c":[1,2,{"d":"e"}]}],"f":{"g":{"h":[]}}}"#);
        same(r#"{"sp": "whitespace between tokens" , "ok" : [ 1 , 2 ] }"#);
        // Strings whose end (or first escape) is past the byte-by-byte look.
        same(
            r#"{"long":"twenty-four bytes and then some more","esc":"twenty-four bytes and then \"quoted\" \\ \n é","x":"exactly twenty-four byte"}"#,
        );
    }

    #[test]
    fn text_in_another_form_is_left_to_the_slow_path() {
        // Escapes JSON.stringify does not write.
        refused(r#"{"a":"\/"}"#);
        refused(r#"{"a":"\u0041"}"#);
        refused(r#"{"a":"\u000a"}"#);
        refused(r#"{"a":"\u001F"}"#);
        refused(r#"{"a":"\ud83d\ude00"}"#);
        refused(r#"{"a":"\ud83d"}"#);
        // Numbers JavaScript spells otherwise.
        for n in [
            "1.0",
            "1e2",
            "1E+21",
            "-0",
            "01",
            "9007199254740993",
            "-9007199254740993",
            "12345678901234567",
            "1.50",
            "0.10",
        ] {
            refused(&format!(r#"{{"n":{n}}}"#));
        }
        // A repeated key, an extra key already there, malformed text, not an object.
        refused(r#"{"a":1,"b":{"c":1,"c":2}}"#);
        // Many keys share a bit (length and last character): only equal ones are refused.
        let keys: Vec<String> = (0..200).map(|i| format!("\"k{i}\":{i}")).collect();
        same(&format!("{{{}}}", keys.join(",")));
        same(&format!(
            "{{\"o\":{{{}}},\"k1\":{{\"k1\":1}}}}",
            keys.join(",")
        ));
        refused(&format!("{{{},\"k7\":0}}", keys.join(",")));
        refused(&format!("{{\"x\":[{{{},\"k199\":0}}]}}", keys.join(",")));
        refused(r#"{"id":"mine"}"#);
        for bad in [
            r#"{"a":}"#,
            r#"{"a":1"#,
            r#"{"a":1}x"#,
            r#"{"a":tru}"#,
            "{\"a\":\"\n\"}",
            "{\"a\":\"plain text, then \u{1} raw\"}",
            "{\"a\":\"a plain run longer than the short one, then \u{1f} raw\"}",
            "{\"a\":\"a plain run longer than the short one, never closed}",
            r#"{"a":"never closed}"#,
            r#"[1]"#,
            r#""s""#,
            "",
        ] {
            refused(bad);
        }
        // Deeper than the fast path goes.
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(120), "]".repeat(120));
        refused(&deep);
    }

    #[test]
    fn leading_keys_come_first_and_a_wanted_value_is_found_in_place() {
        let around = Around {
            leading: &[("id", "msg_1"), ("type", "assistant")],
            trailing: &[("sessionID", "ses_1")],
        };
        let print = |text: &'static str, wanted| {
            let mut out = Vec::new();
            let found = object_around(&mut out, text, 1, around, &mut Vec::new(), wanted);
            found.map(|found| (String::from_utf8(out).unwrap(), found))
        };
        let text = r#"{"cost":1,"time":{"created":2,"completed":null},"nested":{"time":3}}"#;
        let (printed, found) = print(text, Some("time")).unwrap();
        // `{id, type, ...data, sessionID}`, as parsing and printing that object gives.
        let mut value = serde_json::Map::new();
        value.insert("id".into(), "msg_1".into());
        value.insert("type".into(), "assistant".into());
        let Ok(Value::Object(data)) = crate::json::parse(text) else {
            unreachable!()
        };
        value.extend(data);
        value.insert("sessionID".into(), "ses_1".into());
        assert_eq!(
            printed.into_bytes(),
            slow(&crate::json::compact(&value), 1, &[]).unwrap()
        );
        // Only the top object's own key is wanted, not a nested one of that name.
        assert_eq!(found, Some(r#"{"created":2,"completed":null}"#));
        assert_eq!(print(text, Some("status")).unwrap().1, None);
        let (empty, found) = print("{}", Some("time")).unwrap();
        assert_eq!(
            (empty.as_str(), found),
            ("{\n    \"id\": \"msg_1\",\n    \"type\": \"assistant\",\n    \"sessionID\": \"ses_1\"\n  }", None)
        );
        // The object's own `type` would take the place the leading one sets.
        assert!(print(r#"{"a":1,"type":"user"}"#, None).is_err());
    }

    #[test]
    fn refused_text_still_matches_where_the_slow_path_parses_it() {
        // The slow path prints these in canonical form; the fast path must not guess.
        assert_eq!(
            slow(r#"{"a":"\u0041","n":1.0}"#, 0, &[]).unwrap(),
            b"{\n  \"a\": \"A\",\n  \"n\": 1\n}"
        );
    }
}
