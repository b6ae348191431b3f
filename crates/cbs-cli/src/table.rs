//! Plain text tables: columns padded to their widest cell, and text made safe for a
//! terminal (names and messages may come from a policy file or a server: a control
//! character would move the cursor, recolour the screen or reorder the line).

use std::borrow::Cow;

/// `eprintln!` for lines that carry names or messages from outside (a policy, a
/// server): the whole line goes through [`terminal_safe`].
macro_rules! say {
    ($($arg:tt)*) => {
        eprintln!("{}", $crate::table::terminal_safe(&format!($($arg)*)))
    };
}
pub(crate) use say;

pub fn print(headers: &[&str], rows: &[Vec<String>]) {
    print!("{}", render(headers, rows));
}

pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<Cow<'_, str>>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| terminal_safe(cell)).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let start = out.len();
        for (i, (cell, width)) in cells.zip(&widths).enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            out.push_str(cell);
            // Padded by hand: a width given to `format!` must fit in 16 bits.
            out.extend(std::iter::repeat_n(
                ' ',
                width.saturating_sub(cell.chars().count()),
            ));
        }
        let end = out[start..].trim_end().len() + start;
        out.truncate(end);
        out.push('\n');
    };
    line(&mut headers.iter().copied());
    for row in &rows {
        line(&mut row.iter().map(|c| c.as_ref()));
    }
    out
}

/// `text` with every control character (C0, DEL, C1) and every bidirectional
/// override or isolate written as an escape (`\u{1b}`), so it shows as text.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    let unsafe_char =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn pads_columns() {
        let text = super::render(&["A", "LONGER"], &[vec!["wide cell".into(), "x".into()]]);
        assert_eq!(text, "A          LONGER\nwide cell  x\n");
    }

    #[test]
    fn any_width_and_any_character_print_without_harm() {
        let wide = "r".repeat(70_000);
        let text = super::render(&["RULE", "X"], &[vec![wide.clone(), "y".into()]]);
        assert!(text.ends_with(&format!("{wide}  y\n")));
        let hostile = "a\nb\u{1b}[31mc\u{202e}d\u{0}e\u{9b}f";
        let text = super::render(&["A"], &[vec![hostile.into()]]);
        assert_eq!(text, "A\na\\u{a}b\\u{1b}[31mc\\u{202e}d\\u{0}e\\u{9b}f\n");
        assert_eq!(super::terminal_safe("plain"), "plain");
    }
}
