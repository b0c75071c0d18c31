//! JSON text exactly as JavaScript's `JSON.stringify(value, null, 2)` writes it.
//!
//! `opencode export` prints `JSON.stringify(doc, null, 2)`; to be byte-equal we must format
//! numbers the way ECMAScript's `Number::toString` does (`1` not `1.0`, `1e+21`, `1e-7`) and
//! escape strings the way `JSON.stringify` does. serde_json's own formatter differs on both.

use serde_json::{Number, Value};
use std::io::{self, Write};

/// Writes `value` pretty-printed with two-space indentation, without a trailing newline.
pub fn write_pretty(out: &mut impl Write, value: &Value) -> io::Result<()> {
    write_value(out, value, 0)
}

/// `write_pretty` into a fresh buffer.
pub fn to_pretty_vec(value: &Value) -> Vec<u8> {
    let mut buf = Vec::with_capacity(4096);
    write_pretty(&mut buf, value).expect("writing to a Vec cannot fail");
    buf
}

fn write_value(out: &mut impl Write, value: &Value, depth: usize) -> io::Result<()> {
    match value {
        Value::Null => out.write_all(b"null"),
        Value::Bool(b) => out.write_all(if *b { b"true" } else { b"false" }),
        Value::Number(n) => out.write_all(format_number(n).as_bytes()),
        Value::String(s) => write_string(out, s),
        Value::Array(items) if items.is_empty() => out.write_all(b"[]"),
        Value::Array(items) => {
            out.write_all(b"[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                newline_indent(out, depth + 1)?;
                write_value(out, item, depth + 1)?;
            }
            newline_indent(out, depth)?;
            out.write_all(b"]")
        }
        Value::Object(map) if map.is_empty() => out.write_all(b"{}"),
        Value::Object(map) => {
            out.write_all(b"{")?;
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                newline_indent(out, depth + 1)?;
                write_string(out, key)?;
                out.write_all(b": ")?;
                write_value(out, item, depth + 1)?;
            }
            newline_indent(out, depth)?;
            out.write_all(b"}")
        }
    }
}

fn newline_indent(out: &mut impl Write, depth: usize) -> io::Result<()> {
    out.write_all(b"\n")?;
    for _ in 0..depth {
        out.write_all(b"  ")?;
    }
    Ok(())
}

/// `JSON.stringify` string escaping: the two-character escapes for `"`, `\`, `\b`, `\f`,
/// `\n`, `\r`, `\t`, `\u00xx` (lowercase hex) for other control characters, everything else raw.
pub fn write_string(out: &mut impl Write, s: &str) -> io::Result<()> {
    out.write_all(b"\"")?;
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.write_all(&bytes[start..i])?;
        if escape.is_empty() {
            write!(out, "\\u{b:04x}")?;
        } else {
            out.write_all(escape)?;
        }
        start = i + 1;
    }
    out.write_all(&bytes[start..])?;
    out.write_all(b"\"")
}

/// A JSON number as JavaScript prints it after `JSON.parse`: every number is a double.
pub fn format_number(n: &Number) -> String {
    const MAX_SAFE: u64 = 1 << 53;
    if let Some(u) = n.as_u64() {
        if u <= MAX_SAFE {
            return u.to_string();
        }
    } else if let Some(i) = n.as_i64() {
        if i.unsigned_abs() <= MAX_SAFE {
            return i.to_string();
        }
    }
    format_f64(n.as_f64().unwrap_or(f64::NAN))
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
        let big: Value = serde_json::from_str("9007199254740993").unwrap();
        assert_eq!(to_pretty_vec(&big), b"9007199254740992");
        let float_int: Value = serde_json::from_str("1.0").unwrap();
        assert_eq!(to_pretty_vec(&float_int), b"1");
    }

    #[test]
    fn layout_and_escaping_match_json_stringify() {
        let v = json!({"a": [], "b": {}, "c": [1, {"d": "x\"\\\n\t\u{1}\u{7f}é😀"}], "e": null});
        let text = String::from_utf8(to_pretty_vec(&v)).unwrap();
        let want = "{\n  \"a\": [],\n  \"b\": {},\n  \"c\": [\n    1,\n    {\n      \"d\": \"x\\\"\\\\\\n\\t\\u0001\u{7f}é😀\"\n    }\n  ],\n  \"e\": null\n}";
        assert_eq!(text, want);
    }
}
