//! Chat prompts: a checkpoint's Jinja `chat_template` rendered with minijinja under the same
//! rules as transformers' `apply_chat_template` (trimmed and left-stripped blocks,
//! `raise_exception`, `tojson` as Python's `json.dumps`, Python string methods).

use minijinja::value::Kwargs;
use minijinja::{Environment, ErrorKind, Value};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
        }
    }
}

pub struct ChatTemplate {
    env: Environment<'static>,
    bos_token: String,
    eos_token: String,
}

fn raise_exception(message: String) -> std::result::Result<Value, minijinja::Error> {
    Err(minijinja::Error::new(ErrorKind::InvalidOperation, message))
}

/// Python's `json.dumps(value, ensure_ascii=False, indent=indent)`, which transformers' `tojson`
/// filter is.
fn tojson(value: Value, kwargs: Kwargs) -> std::result::Result<Value, minijinja::Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    let json = serde_json::to_value(&value)
        .map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
    let mut out = String::new();
    write_python_json(&json, indent, 0, &mut out);
    Ok(Value::from_safe_string(out))
}

fn write_python_json(
    value: &serde_json::Value,
    indent: Option<usize>,
    depth: usize,
    out: &mut String,
) {
    use serde_json::Value as J;
    let newline = |out: &mut String, depth: usize| {
        if let Some(width) = indent {
            out.push('\n');
            out.push_str(&" ".repeat(width * depth));
        }
    };
    let separator = if indent.is_some() { "," } else { ", " };
    match value {
        J::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(separator);
                }
                newline(out, depth + 1);
                write_python_json(item, indent, depth + 1, out);
            }
            newline(out, depth);
            out.push(']');
        }
        J::Object(map) if !map.is_empty() => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(separator);
                }
                newline(out, depth + 1);
                out.push_str(&serde_json::to_string(key).unwrap_or_default());
                out.push_str(": ");
                write_python_json(item, indent, depth + 1, out);
            }
            newline(out, depth);
            out.push('}');
        }
        other => out.push_str(&serde_json::to_string(other).unwrap_or_default()),
    }
}

/// transformers' `strftime_now(format)`: today's date (UTC) in a strftime format; Llama 3.x
/// and SmolLM3 templates write it into their system prompts. Covers the date and time
/// directives those templates use; anything else is an error naming it.
fn strftime_now(format: String) -> std::result::Result<Value, minijinja::Error> {
    let seconds = web_time::SystemTime::now()
        .duration_since(web_time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format_date(&format, seconds)
        .map(Value::from)
        .map_err(|directive| {
            minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!("strftime_now: unsupported directive %{directive}"),
            )
        })
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = [
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
];

/// `format` with strftime directives filled from `seconds` since the Unix epoch (UTC); the
/// unknown directive's character as the error.
fn format_date(format: &str, seconds: u64) -> std::result::Result<String, char> {
    let days = (seconds / 86_400) as i64;
    let (year, month, day) = civil_from_days(days);
    let secs = seconds % 86_400;
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut directive = chars.next().ok_or('%')?;
        // `%-d`: without padding (glibc).
        let pad = directive != '-';
        if !pad {
            directive = chars.next().ok_or('-')?;
        }
        let number = |n: i64, width: usize| {
            if pad {
                format!("{n:0width$}")
            } else {
                n.to_string()
            }
        };
        let month_name = MONTHS[(month - 1) as usize];
        let weekday = WEEKDAYS[days.rem_euclid(7) as usize];
        match directive {
            'd' => out.push_str(&number(day, 2)),
            'e' => out.push_str(&format!("{day:>2}")),
            'm' => out.push_str(&number(month, 2)),
            'Y' => out.push_str(&year.to_string()),
            'y' => out.push_str(&number(year % 100, 2)),
            'B' => out.push_str(month_name),
            'b' | 'h' => out.push_str(&month_name[..3]),
            'A' => out.push_str(weekday),
            'a' => out.push_str(&weekday[..3]),
            'H' => out.push_str(&number((secs / 3600) as i64, 2)),
            'M' => out.push_str(&number((secs / 60 % 60) as i64, 2)),
            'S' => out.push_str(&number((secs % 60) as i64, 2)),
            'j' => out.push_str(&number(days - days_from_civil(year, 1, 1) + 1, 3)),
            '%' => out.push('%'),
            other => return Err(other),
        }
    }
    Ok(out)
}

/// (year, month, day) of a day count since 1970-01-01 (the proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a date: the inverse of [`civil_from_days`].
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl ChatTemplate {
    pub fn new(template: &str, bos_token: Option<&str>, eos_token: Option<&str>) -> Result<Self> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", strftime_now);
        env.add_filter("tojson", tojson);
        env.add_template_owned("chat", template.to_string())
            .map_err(|e| Error::ChatTemplate(e.to_string()))?;
        Ok(Self {
            env,
            bos_token: bos_token.unwrap_or_default().to_string(),
            eos_token: eos_token.unwrap_or_default().to_string(),
        })
    }

    /// The prompt text for `messages`; `add_generation_prompt` opens the assistant's turn.
    pub fn render(&self, messages: &[ChatMessage], add_generation_prompt: bool) -> Result<String> {
        let template = self
            .env
            .get_template("chat")
            .map_err(|e| Error::ChatTemplate(e.to_string()))?;
        template
            .render(minijinja::context! {
                messages => messages,
                add_generation_prompt => add_generation_prompt,
                bos_token => self.bos_token,
                eos_token => self.eos_token,
            })
            .map_err(|e| {
                // raise_exception's message is the useful part; keep it first.
                let detail = e
                    .detail()
                    .map(str::to_string)
                    .unwrap_or_else(|| e.to_string());
                Error::ChatTemplate(detail)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates_as_strftime_does() {
        // 2025-07-08 12:34:56 UTC, a Tuesday.
        let t = 1_751_978_096;
        assert_eq!(format_date("%d %B %Y", t).unwrap(), "08 July 2025");
        assert_eq!(format_date("%d %b %Y", t).unwrap(), "08 Jul 2025");
        assert_eq!(format_date("%-d %b %Y", t).unwrap(), "8 Jul 2025");
        assert_eq!(
            format_date("%A %Y-%m-%d %H:%M:%S", t).unwrap(),
            "Tuesday 2025-07-08 12:34:56"
        );
        assert_eq!(format_date("%j %y %%", t).unwrap(), "189 25 %");
        assert_eq!(format_date("%Q", t), Err('Q'));
        // Leap days and the epoch.
        assert_eq!(
            format_date("%Y-%m-%d %a", 951_782_400).unwrap(),
            "2000-02-29 Tue"
        );
        assert_eq!(
            format_date("%Y-%m-%d %A", 0).unwrap(),
            "1970-01-01 Thursday"
        );
    }
}
