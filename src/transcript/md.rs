//! Markdown building blocks that cannot break the page around them: fences and code spans
//! longer than any backtick run inside, escaped inline text, bounded excerpts, and the test
//! of whether text can be written as Markdown as it is.

/// `body` in a backtick fence longer than any backtick run inside it.
pub(super) fn fenced(lang: &str, body: &str) -> String {
    let ticks = "`".repeat((longest_run(body, '`') + 1).max(3));
    let newline = if body.ends_with('\n') { "" } else { "\n" };
    format!("{ticks}{lang}\n{body}{newline}{ticks}\n")
}

/// An inline code span that shows `s` exactly (newlines become spaces, as in any code span).
pub(super) fn code(s: &str) -> String {
    if s.is_empty() {
        return "*(empty)*".to_owned();
    }
    let s = s.replace("\r\n", " ").replace(['\n', '\r'], " ");
    let ticks = "`".repeat(longest_run(&s, '`') + 1);
    let pad = s.starts_with('`') || s.ends_with('`') || (s.starts_with(' ') && s.ends_with(' '));
    let pad = if pad { " " } else { "" };
    format!("{ticks}{pad}{s}{pad}{ticks}")
}

/// Plain text for an inline context (a heading, a list item, link text): on one line, with
/// Markdown and HTML punctuation backslash-escaped.
pub(super) fn inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\r' => {}
            '\n' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '|' | '~' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Text for the inside of an HTML element.
pub(super) fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `[title](href)`, with the link text escaped and the destination in angle brackets when
/// it holds spaces or parentheses.
pub(super) fn link_to(title: &str, href: &str) -> String {
    let text = if title.trim().is_empty() {
        "untitled".to_owned()
    } else {
        inline(title)
    };
    let href = href.replace(['\n', '\r'], "");
    if href.contains([' ', '(', ')', '<', '>']) {
        let href = href.replace('<', "%3C").replace('>', "%3E");
        format!("[{text}](<{href}>)")
    } else {
        format!("[{text}]({href})")
    }
}

/// At most `limit` characters of `s` (cut at a line end when one is near), and a note
/// saying how much was cut.
pub(super) fn shorten(s: &str, limit: usize) -> (&str, Option<String>) {
    let Some((cut, _)) = s.char_indices().nth(limit) else {
        return (s, None);
    };
    let head = &s[..cut];
    let head = match head.rfind('\n') {
        Some(nl) if nl >= cut / 2 => &head[..=nl],
        _ => head,
    };
    let total = s.chars().count();
    let shown = head.chars().count();
    let note = format!(
        "*… {} of {} characters not shown.*",
        group((total - shown) as f64),
        group(total as f64)
    );
    (head, Some(note))
}

/// A count with thousands separators: `12,345`.
pub(super) fn group(n: f64) -> String {
    if !n.is_finite() || n.fract() != 0.0 || n.abs() >= 1e18 {
        return n.to_string();
    }
    let digits = (n.abs() as u64).to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0.0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Whether `text` can be written as Markdown and still show all of itself without changing
/// what follows it: every fence it opens is closed, no HTML block that only an end marker
/// closes (`<pre>`…) is left open, and outside fences it has no `<details>`/`<summary>` tags
/// (they would pair with the transcript's) and nothing a forge hides (`<!--`, `<script>`,
/// `<style>`).
pub(super) fn is_safe_markdown(text: &str) -> bool {
    const HIDING: &[&str] = &[
        "<details",
        "</details",
        "<summary",
        "</summary",
        "<!--",
        "<script",
        "<style",
    ];
    /// HTML blocks that end only at a marker (CommonMark kinds 1–5, less the hiding ones).
    const RAW_BLOCKS: &[(&str, &str)] = &[
        ("<pre", "</pre>"),
        ("<textarea", "</textarea>"),
        ("<![cdata[", "]]>"),
        ("<?", "?>"),
        ("<!", ">"),
    ];
    let mut fence: Option<(char, usize)> = None;
    let mut raw_end: Option<&str> = None;
    for line in text.lines() {
        let trimmed = strip_indent(line);
        if let Some((ch, n)) = fence {
            let run = trimmed.chars().take_while(|c| *c == ch).count();
            if run >= n && trimmed[run..].trim().is_empty() {
                fence = None;
            }
            continue;
        }
        if raw_end.is_none() {
            if let Some(ch) = trimmed.chars().next().filter(|c| *c == '`' || *c == '~') {
                let run = trimmed.chars().take_while(|c| *c == ch).count();
                if run >= 3 && !(ch == '`' && trimmed[run..].contains('`')) {
                    fence = Some((ch, run));
                    continue;
                }
            }
        }
        let lower = trimmed.to_ascii_lowercase();
        if HIDING.iter().any(|tag| lower.contains(tag)) {
            return false;
        }
        if let Some(end) = raw_end {
            if lower.contains(end) {
                raw_end = None;
            }
            continue;
        }
        if let Some((start, end)) = RAW_BLOCKS.iter().find(|(s, _)| lower.starts_with(s)) {
            if !lower[start.len()..].contains(end) {
                raw_end = Some(end);
            }
        }
    }
    fence.is_none() && raw_end.is_none()
}

/// `line` without up to three leading spaces (more make an indented code block).
fn strip_indent(line: &str) -> &str {
    let spaces = line.bytes().take(3).take_while(|b| *b == b' ').count();
    &line[spaces..]
}

/// The longest run of `ch` in `s`.
fn longest_run(s: &str, ch: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in s.chars() {
        if c == ch {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body of the fence that opens `block`, by CommonMark's rule (it closes at the first
    /// line of at least as many backticks and nothing else).
    fn fence_body(block: &str) -> &str {
        let open = block.chars().take_while(|c| *c == '`').count();
        let after_info = block.find('\n').unwrap() + 1;
        let mut pos = after_info;
        for line in block[after_info..].split_inclusive('\n') {
            let run = line.chars().take_while(|c| *c == '`').count();
            if run >= open && line[run..].trim().is_empty() {
                return &block[after_info..pos];
            }
            pos += line.len();
        }
        panic!("fence never closes: {block}");
    }

    #[test]
    fn fences_are_longer_than_any_backtick_run_inside() {
        for body in [
            "plain",
            "a ``` b",
            "````\nx\n````",
            "`",
            "ends with `````",
            "",
            "```",
        ] {
            let block = fenced("text", body);
            let got = fence_body(&block);
            assert_eq!(got.strip_suffix('\n').unwrap_or(got), body, "{block}");
        }
        assert!(fenced("text", "x ``````` y").starts_with("````````text\n"));
        assert!(fenced("text", "x").starts_with("```text\n"));
    }

    #[test]
    fn code_spans_survive_backticks_and_newlines() {
        assert_eq!(code("a"), "`a`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x`"), "`` `x` ``");
        assert_eq!(code("a\nb"), "`a b`");
        assert_eq!(code(""), "*(empty)*");
    }

    #[test]
    fn inline_text_and_links_are_escaped() {
        assert_eq!(inline("a *b* [c](d) <e>\nf"), r"a \*b\* \[c\](d) \<e\> f");
        assert_eq!(link_to("t [1]", "x.md"), r"[t \[1\]](x.md)");
        assert_eq!(link_to("", "a b.md"), "[untitled](<a b.md>)");
        assert_eq!(html_escape("<a> & b"), "&lt;a&gt; &amp; b");
    }

    #[test]
    fn shorten_cuts_at_a_line_end_and_never_inside_a_character() {
        let long: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        let (head, note) = shorten(&long, 100);
        assert!(
            head.chars().count() <= 100 && head.ends_with('\n'),
            "{head}"
        );
        assert_eq!(
            note.unwrap(),
            format!(
                "*… {} of {} characters not shown.*",
                group((long.len() - head.len()) as f64),
                group(long.len() as f64)
            )
        );
        assert_eq!(shorten("short", 100), ("short", None));
        let wide = "日本語".repeat(1000);
        let (head, note) = shorten(&wide, 10);
        assert_eq!(head, "日本語日本語日本語日");
        assert!(note.unwrap().contains("2,990 of 3,000"));
        assert_eq!(group(1234567.0), "1,234,567");
        assert_eq!(group(999.0), "999");
        assert_eq!(group(0.5), "0.5");
    }

    #[test]
    fn safe_markdown_detection() {
        let safe = [
            "text\n```rust\ncode\n```\nmore",
            "~~~~\n```\n~~~~",
            "    ```\nindented, not a fence",
            "<path>/x</path>",
            "<pre>\nx\n</pre>",
            "```\n<details>\n<!-- in a fence -->\n```",
            "Vec<String> and a < b",
        ];
        for text in safe {
            assert!(is_safe_markdown(text), "{text:?}");
        }
        let not_safe = [
            "```\nopen",
            "````\n```\n",
            "<pre>\nx",
            "see <details>",
            "a </summary> b",
            "<!-- closed --> but hidden",
            "<script>x</script>",
            "<pre>\n</details>\n</pre>",
        ];
        for text in not_safe {
            assert!(!is_safe_markdown(text), "{text:?}");
        }
    }
}
