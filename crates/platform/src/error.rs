//! Errors of loading a configuration, and the helpers that give them a file, a key and a line.
//!
//! Every message has the same shape, like a compiler's:
//! `<problem> at <file>:<line> (<dotted.key>); expected <valid values>`, for example
//! `unknown backend 'cuda2' at g2mig.toml:14 (run.backend); expected one of: flex, ndarray, wgpu`.

use std::fmt::Display;
use std::ops::Range;
use std::path::PathBuf;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file (or the folder given to [`crate::load_dir`]) could not be read.
    #[error("cannot read config '{}': {source}", .path.display())]
    Io {
        /// The path as given.
        path: PathBuf,
        /// The underlying error (not found, permission denied, not UTF-8, ...).
        source: std::io::Error,
    },
    /// A folder expected to hold configuration files has none.
    #[error("no configuration files (*.toml) in '{}'", .dir.display())]
    NoConfigs {
        /// The folder.
        dir: PathBuf,
    },
    /// The text is not TOML, or does not fit the schema: unknown key, missing key, wrong type.
    #[error(
        "{message} at {}{}",
        location(.file, *.line, .key.as_deref()),
        expected_suffix(.expected.as_deref())
    )]
    Parse {
        /// The file name the text came from.
        file: String,
        /// The dotted key (`hardware.vcpus`), when the error can be tied to one.
        key: Option<String>,
        /// The 1-based line, when the error can be tied to one.
        line: Option<usize>,
        /// What is wrong (`unknown key 'cpus'`).
        message: String,
        /// What would be right (`one of: vcpus, cpu, ram_gb`), when known.
        expected: Option<String>,
    },
    /// The TOML fits the schema but a value is impossible (0 vCPUs, a negative price, ...).
    #[error("{message} at {}; expected {expected}", location(.file, Some(*.line), Some(.key)))]
    Invalid {
        /// The file name the text came from.
        file: String,
        /// The dotted key (`run.gpu_share`).
        key: String,
        /// The 1-based line of the value (or of its table's header when the key is missing).
        line: usize,
        /// What is wrong (`invalid value 1.5`).
        message: String,
        /// The valid values or range (`a number in (0, 1]`).
        expected: String,
    },
}

impl ConfigError {
    /// The dotted key the error is about, if any (`hardware.vcpus`).
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::Io { .. } | Self::NoConfigs { .. } => None,
            Self::Parse { key, .. } => key.as_deref(),
            Self::Invalid { key, .. } => Some(key),
        }
    }

    /// The 1-based line the error is about, if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Io { .. } | Self::NoConfigs { .. } => None,
            Self::Parse { line, .. } => *line,
            Self::Invalid { line, .. } => Some(*line),
        }
    }
}

/// `file:line (key)`, leaving out what is unknown.
fn location(file: &str, line: Option<usize>, key: Option<&str>) -> String {
    let mut out = file.to_owned();
    if let Some(line) = line {
        out.push_str(&format!(":{line}"));
    }
    if let Some(key) = key {
        out.push_str(&format!(" ({key})"));
    }
    out
}

/// `; expected ...` or nothing.
fn expected_suffix(expected: Option<&str>) -> String {
    expected
        .map(|e| format!("; expected {e}"))
        .unwrap_or_default()
}

/// The text being loaded and its name: turns spans into lines and builds errors.
pub(crate) struct Source<'a> {
    /// File name used in messages.
    pub file: &'a str,
    /// The whole TOML text.
    pub text: &'a str,
}

impl Source<'_> {
    /// The 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        1 + self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
    }

    /// The source text of a span (the value as written), for messages.
    pub fn snippet(&self, span: Range<usize>) -> &str {
        self.text.get(span).unwrap_or("?").trim()
    }

    /// An [`ConfigError::Invalid`] at a span.
    pub fn invalid(
        &self,
        key: &str,
        span: Range<usize>,
        message: impl Display,
        expected: impl Display,
    ) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.to_owned(),
            key: key.to_owned(),
            line: self.line(span.start),
            message: message.to_string(),
            expected: expected.to_string(),
        }
    }

    /// `invalid value <as written>` for a spanned value.
    pub fn bad_value<T>(
        &self,
        key: &str,
        value: &Spanned<T>,
        expected: impl Display,
    ) -> ConfigError {
        let message = format!("invalid value {}", self.snippet(value.span()));
        self.invalid(key, value.span(), message, expected)
    }

    /// `unknown <what> '<value>'` with the valid names, for a name that did not parse.
    pub fn unknown_name(
        &self,
        key: &str,
        span: Range<usize>,
        err: &replay_core::UnknownNameError,
    ) -> ConfigError {
        let message = format!("unknown {} '{}'", err.what, err.value);
        self.invalid(key, span, message, err.expected())
    }

    /// A non-empty string.
    pub fn text(&self, key: &str, value: Spanned<String>) -> Result<String, ConfigError> {
        if value.get_ref().trim().is_empty() {
            return Err(self.invalid(key, value.span(), "empty text", "a non-empty string"));
        }
        Ok(value.into_inner())
    }

    /// A whole number of at least `min`.
    pub fn count(&self, key: &str, value: &Spanned<i64>, min: i64) -> Result<u64, ConfigError> {
        match u64::try_from(*value.get_ref()) {
            Ok(n) if *value.get_ref() >= min => Ok(n),
            _ => Err(self.bad_value(key, value, format_args!("a whole number >= {min}"))),
        }
    }

    /// A whole number within `range`.
    pub fn within(
        &self,
        key: &str,
        value: &Spanned<i64>,
        range: std::ops::RangeInclusive<usize>,
    ) -> Result<usize, ConfigError> {
        match usize::try_from(*value.get_ref()) {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(self.bad_value(
                key,
                value,
                format_args!("a whole number from {} to {}", range.start(), range.end()),
            )),
        }
    }

    /// A finite number greater than zero.
    pub fn positive(&self, key: &str, value: &Spanned<f64>) -> Result<f64, ConfigError> {
        let v = *value.get_ref();
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(self.bad_value(key, value, "a finite number > 0"))
        }
    }

    /// A finite number of at least zero.
    pub fn non_negative(&self, key: &str, value: &Spanned<f64>) -> Result<f64, ConfigError> {
        let v = *value.get_ref();
        if v.is_finite() && v >= 0.0 {
            Ok(v)
        } else {
            Err(self.bad_value(key, value, "a finite number >= 0"))
        }
    }

    /// Turns an error of `toml` (syntax or schema) into a [`ConfigError::Parse`] that names
    /// the dotted key and the line, with serde's wording rewritten for people.
    pub fn parse_error(&self, err: &toml::de::Error) -> ConfigError {
        let span = err.span();
        let message = err.message();
        // A missing key is reported at its table's header, or at an empty span for the root
        // table, which has no line of its own.
        let at_root =
            message.starts_with("missing field ") && span.as_ref().is_none_or(|s| s.is_empty());
        let span = span.filter(|_| !at_root);
        let table_path = span.clone().and_then(|s| key_path_at(self.text, s));
        let line = span.as_ref().map(|s| self.line(s.start));
        let (key, message, expected) = if let Some(rest) = message.strip_prefix("unknown field ") {
            let names = backticked(rest);
            let name = names.first().cloned().unwrap_or_default();
            let valid = if names.len() > 1 {
                Some(format!("one of: {}", names[1..].join(", ")))
            } else {
                Some("no keys here".to_owned())
            };
            (
                table_path.or(Some(name.clone())),
                format!("unknown key '{name}'"),
                valid,
            )
        } else if let Some(rest) = message.strip_prefix("missing field ") {
            let name = backticked(rest).first().cloned().unwrap_or_default();
            let key = match table_path {
                Some(table) => format!("{table}.{name}"),
                None => name.clone(),
            };
            (Some(key), format!("missing required key '{name}'"), None)
        } else if let Some(rest) = message.strip_prefix("invalid type: ") {
            let (found, want) = rest.rsplit_once(", expected ").unwrap_or((rest, ""));
            let want = (!want.is_empty()).then(|| type_name(want));
            let found = match found {
                "sequence" => "an array",
                "map" => "a table",
                other => other,
            };
            (table_path, format!("wrong type: found {found}"), want)
        } else if message == "duplicate key" {
            let name = span
                .clone()
                .map(|s| self.snippet(s).to_owned())
                .unwrap_or_default();
            (
                table_path,
                format!("duplicate key '{name}'"),
                Some("each key once".to_owned()),
            )
        } else {
            (table_path, message.to_owned(), None)
        };
        ConfigError::Parse {
            file: self.file.to_owned(),
            key,
            line,
            message,
            expected,
        }
    }
}

/// The names inside backticks in a serde message, in order.
fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// Serde's name of an expected type, in words.
fn type_name(serde: &str) -> String {
    match serde {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" => {
            "a whole number".to_owned()
        }
        "f32" | "f64" => "a number".to_owned(),
        "a boolean" => "true or false".to_owned(),
        s if s.starts_with("struct ") || s == "a map" => "a table".to_owned(),
        s => s.to_owned(),
    }
}

/// The dotted path of the key whose key or value holds `span`: the innermost such entry.
///
/// `toml` reports an unknown key at the key, a wrong type at the value and a missing key at the
/// header of its table (`[hardware]`), so the innermost entry is the key meant.
fn key_path_at(text: &str, span: Range<usize>) -> Option<String> {
    // Best-effort recovery, so that syntax errors (a duplicate key, a bad value) get a key too.
    let (doc, _) = DeTable::parse_recoverable(text);
    let mut best: Option<(usize, String)> = None;
    visit_table(doc.get_ref(), "", &span, &mut best);
    best.map(|(_, path)| path)
}

/// Walks a table, keeping in `best` the entry with the narrowest span holding `span`.
fn visit_table(
    table: &DeTable<'_>,
    prefix: &str,
    span: &Range<usize>,
    best: &mut Option<(usize, String)>,
) {
    for (key, value) in table.iter() {
        let path = if prefix.is_empty() {
            key.get_ref().to_string()
        } else {
            format!("{prefix}.{}", key.get_ref())
        };
        visit_entry(&path, Some(key.span()), value, span, best);
    }
}

/// Checks one entry (and what it contains) against `span`.
fn visit_entry(
    path: &str,
    key_span: Option<Range<usize>>,
    value: &Spanned<DeValue<'_>>,
    span: &Range<usize>,
    best: &mut Option<(usize, String)>,
) {
    let value_span = value.span();
    let holds = key_span.as_ref() == Some(span)
        || (value_span.start <= span.start && span.end <= value_span.end);
    if holds {
        let width = if key_span.as_ref() == Some(span) {
            0
        } else {
            value_span.len()
        };
        if best.as_ref().is_none_or(|(w, _)| width <= *w) {
            *best = Some((width, path.to_owned()));
        }
    }
    match value.get_ref() {
        DeValue::Table(table) => visit_table(table, path, span, best),
        DeValue::Array(array) => {
            for (i, item) in array.iter().enumerate() {
                visit_entry(&format!("{path}[{i}]"), None, item, span, best);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_from_one() {
        let src = Source {
            file: "a.toml",
            text: "a = 1\nb = 2\n\nc = 3",
        };
        assert_eq!(src.line(0), 1);
        assert_eq!(src.line(6), 2);
        assert_eq!(src.line(13), 4);
        assert_eq!(src.line(10_000), 4);
    }

    #[test]
    fn the_innermost_key_is_found_for_a_span() {
        let text = "top = 1\n[hardware]\nvcpus = 'four'\n[study.burn]\nwall_s = 3\n";
        let at = |needle: &str| {
            let start = text.find(needle).unwrap();
            key_path_at(text, start..start + needle.len())
        };
        assert_eq!(at("'four'").as_deref(), Some("hardware.vcpus"));
        assert_eq!(at("vcpus").as_deref(), Some("hardware.vcpus"));
        assert_eq!(at("[hardware]").as_deref(), Some("hardware"));
        assert_eq!(at("[study.burn]").as_deref(), Some("study.burn"));
        assert_eq!(at("3").as_deref(), Some("study.burn.wall_s"));
        assert_eq!(at("1").as_deref(), Some("top"));
    }

    #[test]
    fn messages_without_a_line_or_key_leave_them_out() {
        assert_eq!(location("f.toml", None, None), "f.toml");
        assert_eq!(location("f.toml", Some(3), Some("a.b")), "f.toml:3 (a.b)");
        assert_eq!(expected_suffix(None), "");
        assert_eq!(expected_suffix(Some("x")), "; expected x");
    }

    #[test]
    fn serde_type_names_are_put_in_words() {
        assert_eq!(type_name("i64"), "a whole number");
        assert_eq!(type_name("f64"), "a number");
        assert_eq!(type_name("a string"), "a string");
        assert_eq!(type_name("struct RawHardware"), "a table");
        assert_eq!(backticked("`a`, expected one of `b`, `c`"), ["a", "b", "c"]);
    }
}
