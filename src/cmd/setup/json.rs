//! Byte-exact edits of a JSON text: a reader that records where every value, key and separator
//! sits, and splices that change only the bytes an edit needs.
//!
//! `settings.json` is the user's file: re-serialising it would turn `1e2` into `100.0`, a big
//! integer into `1.23e+22`, CRLF into LF and tabs into spaces. Here nothing outside an edited
//! span is ever rewritten, and a new item copies the separator and indentation of its siblings,
//! so removing it again gives back the very same bytes. A few hundred lines of our own instead of
//! a format-preserving crate: the settings grammar is strict JSON (no comments), the edits are
//! "append a child", "remove a child" and "replace a value", and the text was already validated
//! by serde_json before it gets here.
//!
//! It deliberately does not validate (serde_json does that first, with positions the user can
//! act on), and it does not pretty-print anything it did not write.

use serde_json::Value;

/// A value and where it sits: `text[start..end]` is exactly its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Object(Vec<Child>),
    Array(Vec<Child>),
    Scalar,
}

/// A member of an object or an element of an array.
#[derive(Debug, Clone, PartialEq)]
pub struct Child {
    /// Just after the `{`, `[` or `,` before this child: `text[lead..start]` is the whitespace
    /// that sets it on its own line (or not), which a new sibling copies.
    pub lead: usize,
    /// Where the child begins: its key for a member, its value for an element.
    pub start: usize,
    /// The decoded key of a member (`"status\u004cine"` is `statusLine`, as Claude Code reads it).
    pub key: Option<String>,
    /// The bytes between key and value (`": "`, `":"`), for members.
    pub colon: Option<(usize, usize)>,
    pub value: Node,
}

impl Child {
    pub fn end(&self) -> usize {
        self.value.end
    }
}

impl Node {
    pub fn children(&self) -> &[Child] {
        match &self.kind {
            Kind::Object(c) | Kind::Array(c) => c,
            Kind::Scalar => &[],
        }
    }

    pub fn is_object(&self) -> bool {
        matches!(self.kind, Kind::Object(_))
    }

    pub fn is_array(&self) -> bool {
        matches!(self.kind, Kind::Array(_))
    }

    /// The member named `key` (the last one, as JSON.parse and serde_json keep the last of
    /// duplicate keys), with its index.
    pub fn member(&self, key: &str) -> Option<(usize, &Child)> {
        match &self.kind {
            Kind::Object(c) => c
                .iter()
                .enumerate()
                .rev()
                .find(|(_, m)| m.key.as_deref() == Some(key)),
            _ => None,
        }
    }

    /// The value as serde_json reads it (for decisions; edits use the spans).
    pub fn value(&self, text: &str) -> Value {
        serde_json::from_str(&text[self.start..self.end]).unwrap_or(Value::Null)
    }
}

/// Reads the spans of a JSON text that serde_json has already accepted.
pub fn parse(text: &str) -> Result<Node, String> {
    let mut p = Reader {
        b: text.as_bytes(),
        i: 0,
        depth: 0,
    };
    let node = p.value()?;
    p.ws();
    if p.i != p.b.len() {
        return Err(format!("trailing characters at byte {}", p.i));
    }
    Ok(node)
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
}

/// serde_json refuses deeper nesting, so this is only a guard against unbounded recursion.
const MAX_DEPTH: usize = 256;

impl Reader<'_> {
    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at byte {}", self.i))
    }

    fn value(&mut self) -> Result<Node, String> {
        self.ws();
        let start = self.i;
        let kind = match self.b.get(self.i) {
            Some(b'{') => self.container(b'}', true)?,
            Some(b'[') => self.container(b']', false)?,
            Some(b'"') => {
                self.string()?;
                Kind::Scalar
            }
            Some(b't' | b'f' | b'n') => {
                while self.b.get(self.i).is_some_and(u8::is_ascii_alphabetic) {
                    self.i += 1;
                }
                Kind::Scalar
            }
            Some(b'-' | b'0'..=b'9') => {
                while self
                    .b
                    .get(self.i)
                    .is_some_and(|c| c.is_ascii_digit() || b"+-.eE".contains(c))
                {
                    self.i += 1;
                }
                Kind::Scalar
            }
            _ => return self.err("expected a value"),
        };
        Ok(Node {
            start,
            end: self.i,
            kind,
        })
    }

    fn string(&mut self) -> Result<(), String> {
        self.i += 1;
        loop {
            match self.b.get(self.i) {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(b'\\') => self.i += 2,
                Some(_) => self.i += 1,
                None => return self.err("unterminated string"),
            }
        }
    }

    fn container(&mut self, close: u8, object: bool) -> Result<Kind, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err("nesting too deep");
        }
        self.i += 1;
        let mut children = Vec::new();
        let mut lead = self.i;
        self.ws();
        if self.b.get(self.i) == Some(&close) {
            self.i += 1;
        } else {
            loop {
                self.ws();
                let start = self.i;
                let (key, colon) = if object {
                    if self.b.get(self.i) != Some(&b'"') {
                        return self.err("expected a key");
                    }
                    self.string()?;
                    let raw =
                        std::str::from_utf8(&self.b[start..self.i]).map_err(|e| e.to_string())?;
                    let key: String = serde_json::from_str(raw).map_err(|e| e.to_string())?;
                    let colon_start = self.i;
                    self.ws();
                    if self.b.get(self.i) != Some(&b':') {
                        return self.err("expected ':'");
                    }
                    self.i += 1;
                    self.ws();
                    (Some(key), Some((colon_start, self.i)))
                } else {
                    (None, None)
                };
                let value = self.value()?;
                children.push(Child {
                    lead,
                    start,
                    key,
                    colon,
                    value,
                });
                self.ws();
                match self.b.get(self.i) {
                    Some(b',') => {
                        self.i += 1;
                        lead = self.i;
                    }
                    Some(c) if *c == close => {
                        self.i += 1;
                        break;
                    }
                    _ => return self.err("expected ',' or a closing bracket"),
                }
            }
        }
        self.depth -= 1;
        Ok(if object {
            Kind::Object(children)
        } else {
            Kind::Array(children)
        })
    }
}

/// How the file writes what it writes: new lines, one level of indentation, the key separator.
#[derive(Debug, Clone, PartialEq)]
pub struct Style {
    pub newline: &'static str,
    pub unit: String,
    pub colon: String,
    /// The file is one line (minified): new items stay on it.
    pub one_line: bool,
}

/// Learns the style from the file itself; where it says nothing (`{}`), Claude Code's own
/// (2-space indentation, `": "`, LF).
pub fn style(text: &str, root: &Node) -> Style {
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut unit = None;
    if let Some(first) = root.children().first() {
        let ws = &text[first.lead..first.start];
        if let Some(nl) = ws.rfind('\n') {
            unit = Some(ws[nl + 1..].to_string());
        }
    }
    let unit = unit.unwrap_or_else(|| {
        // A one-line root or an empty one: the first indented line anywhere, else two spaces.
        text.split('\n')
            .skip(1)
            .map(|l| &l[..l.len() - l.trim_start_matches([' ', '\t']).len()])
            .find(|i| !i.is_empty())
            .unwrap_or("  ")
            .to_string()
    });
    let colon = first_colon(text, root).unwrap_or_else(|| ": ".to_string());
    Style {
        newline,
        unit,
        colon,
        one_line: !text.contains('\n') && !root.children().is_empty(),
    }
}

fn first_colon(text: &str, node: &Node) -> Option<String> {
    for c in node.children() {
        if let Some((a, b)) = c.colon {
            let s = &text[a..b];
            // A key separator that spans lines is odd; do not spread it.
            if !s.contains('\n') {
                return Some(s.to_string());
            }
        }
        if let Some(s) = first_colon(text, &c.value) {
            return Some(s);
        }
    }
    None
}

/// Where a rendered value goes: on one line (with this after each comma), or on lines of its own
/// starting at this indentation.
#[derive(Debug, Clone, PartialEq)]
pub enum Layout {
    OneLine { sep: String },
    Lines { indent: String },
}

/// Renders `value` in the file's style; scalars exactly as serde_json writes them.
pub fn render(value: &Value, layout: &Layout, style: &Style) -> String {
    let mut out = String::new();
    write_value(&mut out, value, layout, style);
    out
}

fn write_value(out: &mut String, value: &Value, layout: &Layout, style: &Style) {
    let items: Vec<(Option<&String>, &Value)> = match value {
        Value::Object(m) if !m.is_empty() => m.iter().map(|(k, v)| (Some(k), v)).collect(),
        Value::Array(a) if !a.is_empty() => a.iter().map(|v| (None, v)).collect(),
        _ => {
            out.push_str(&serde_json::to_string(value).expect("a JSON value serialises"));
            return;
        }
    };
    let (open, close) = if value.is_object() {
        ('{', '}')
    } else {
        ('[', ']')
    };
    out.push(open);
    let inner = match layout {
        Layout::OneLine { .. } => layout.clone(),
        Layout::Lines { indent } => Layout::Lines {
            indent: format!("{indent}{}", style.unit),
        },
    };
    for (n, (key, v)) in items.iter().enumerate() {
        match &inner {
            Layout::OneLine { sep } => {
                if n > 0 {
                    out.push(',');
                    out.push_str(sep);
                }
            }
            Layout::Lines { indent } => {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(style.newline);
                out.push_str(indent);
            }
        }
        if let Some(k) = key {
            out.push_str(&serde_json::to_string(k).expect("a string serialises"));
            out.push_str(&style.colon);
        }
        write_value(out, v, &inner, style);
    }
    if let Layout::Lines { indent } = layout {
        out.push_str(style.newline);
        out.push_str(indent);
    }
    out.push(close);
}

/// `text` with `text[start..end]` replaced by `with`.
pub fn splice(text: &str, start: usize, end: usize, with: &str) -> String {
    let mut s = String::with_capacity(text.len() + with.len());
    s.push_str(&text[..start]);
    s.push_str(with);
    s.push_str(&text[end..]);
    s
}

/// The indentation of the line `pos` is on.
fn line_indent(text: &str, pos: usize) -> &str {
    let line = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let rest = &text[line..];
    &rest[..rest.len() - rest.trim_start_matches([' ', '\t']).len()]
}

/// The item separator used on one line by this file (`", "` style or minified `","`).
fn one_line_sep(style: &Style) -> String {
    if style.colon.ends_with(' ') {
        " ".into()
    } else {
        String::new()
    }
}

/// What follows a comma in this one-line container: what its second child has after its comma,
/// or, with fewer children, what the file's key separator suggests.
fn one_line_sep_of(text: &str, container: &Node, style: &Style) -> String {
    match container.children().get(1) {
        Some(second) => text[second.lead..second.start].to_string(),
        None => one_line_sep(style),
    }
}

/// Appends a member (`key` given) or an element to `container`. After its last sibling it copies
/// that sibling's lead-in (`,` + the same whitespace), so removing it again restores the bytes;
/// into an empty container it goes on a line of its own, one level deeper than the container's
/// line (or on the same line in a one-line file).
pub fn append(
    text: &str,
    style: &Style,
    container: &Node,
    key: Option<&str>,
    value: &Value,
) -> String {
    let item = |layout: &Layout| {
        let mut s = String::new();
        if let Some(k) = key {
            s.push_str(&serde_json::to_string(k).expect("a string serialises"));
            s.push_str(&style.colon);
        }
        s.push_str(&render(value, layout, style));
        s
    };
    match container.children().last() {
        Some(last) => {
            let ws = &text[last.lead..last.start];
            let (layout, ws) = match ws.rfind('\n') {
                Some(nl) => (
                    Layout::Lines {
                        indent: ws[nl + 1..].to_string(),
                    },
                    ws.to_string(),
                ),
                None => {
                    let sep = one_line_sep_of(text, container, style);
                    (Layout::OneLine { sep: sep.clone() }, sep)
                }
            };
            let insert = format!(",{ws}{}", item(&layout));
            splice(text, last.end(), last.end(), &insert)
        }
        None => {
            let inner = if style.one_line {
                item(&Layout::OneLine {
                    sep: one_line_sep(style),
                })
            } else {
                let outer = line_indent(text, container.start);
                let indent = format!("{outer}{}", style.unit);
                format!(
                    "{nl}{indent}{}{nl}{outer}",
                    item(&Layout::Lines {
                        indent: indent.clone()
                    }),
                    nl = style.newline
                )
            };
            set_inner(text, container, &inner)
        }
    }
}

/// Removes child `index` of `container`, with the separator that came with it: the inverse of
/// [`append`] for the last child. Removing the only child empties the container (`[]`).
pub fn remove(text: &str, container: &Node, index: usize) -> String {
    let c = container.children();
    match (index, c.len()) {
        (_, 1) => set_inner(text, container, ""),
        (i, n) if i + 1 == n => splice(text, c[i - 1].end(), c[i].end(), ""),
        (i, _) => splice(text, c[i].start, c[i + 1].start, ""),
    }
}

/// Replaces everything between a container's brackets.
pub fn set_inner(text: &str, container: &Node, inner: &str) -> String {
    splice(text, container.start + 1, container.end - 1, inner)
}

/// The bytes between a container's brackets.
pub fn inner<'t>(text: &'t str, container: &Node) -> &'t str {
    &text[container.start + 1..container.end - 1]
}

/// Replaces a value by `value` rendered like the one it replaces: on one line if that was on one
/// line (and not empty), else on lines indented from the value's own line.
pub fn replace(text: &str, style: &Style, node: &Node, value: &Value) -> String {
    let old = &text[node.start..node.end];
    let layout = match node.children().last() {
        Some(_) if !old.contains('\n') => Layout::OneLine {
            sep: one_line_sep_of(text, node, style),
        },
        _ if style.one_line => Layout::OneLine {
            sep: one_line_sep(style),
        },
        _ => Layout::Lines {
            indent: line_indent(text, node.start).to_string(),
        },
    };
    splice(text, node.start, node.end, &render(value, &layout, style))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn root(text: &str) -> Node {
        parse(text).unwrap()
    }

    /// Appending and then removing the new last child gives back the text byte for byte.
    fn round_trip(text: &str, path: &[&str], key: Option<&str>, value: &Value) -> String {
        let find = |t: &str| {
            let mut n = root(t);
            for k in path {
                n = n.member(k).unwrap().1.value.clone();
            }
            n
        };
        let st = style(text, &root(text));
        let added = append(text, &st, &find(text), key, value);
        let c = find(&added);
        let back = remove(&added, &c, c.children().len() - 1);
        if !find(text).children().is_empty() {
            assert_eq!(back, text, "round trip of {added:?}");
        }
        added
    }

    #[test]
    fn spans_cover_exact_bytes_and_keys_are_decoded() {
        let t = "{ \"a\" :1e2, \"status\\u004cine\": [ -0 , {\"x\":\"}\\\"\"} ] }";
        let r = root(t);
        let c = r.children();
        assert_eq!(c.len(), 2);
        assert_eq!(&t[c[0].value.start..c[0].value.end], "1e2");
        assert_eq!(c[1].key.as_deref(), Some("statusLine"));
        let arr = &c[1].value;
        assert_eq!(&t[arr.start..arr.end], "[ -0 , {\"x\":\"}\\\"\"} ]");
        assert_eq!(&t[arr.children()[1].lead..arr.children()[1].start], " ");
        assert_eq!(r.member("statusLine").unwrap().0, 1);
        assert_eq!(style(t, &r).colon, " :");
    }

    #[test]
    fn appends_copy_the_siblings_layout() {
        let v = json!({"type": "command", "padding": 0});
        let two = "{\n  \"a\": 1\n}\n";
        assert_eq!(
            round_trip(two, &[], Some("s"), &v),
            "{\n  \"a\": 1,\n  \"s\": {\n    \"type\": \"command\",\n    \"padding\": 0\n  }\n}\n"
        );
        let crlf_tabs = "{\r\n\t\"a\": 1\r\n}";
        assert_eq!(
            round_trip(crlf_tabs, &[], Some("s"), &v),
            "{\r\n\t\"a\": 1,\r\n\t\"s\": {\r\n\t\t\"type\": \"command\",\r\n\t\t\"padding\": 0\r\n\t}\r\n}"
        );
        let minified = "{\"a\":1}";
        assert_eq!(
            round_trip(minified, &[], Some("s"), &v),
            "{\"a\":1,\"s\":{\"type\":\"command\",\"padding\":0}}"
        );
        let spaced = "{\"a\": 1, \"b\": [1]}";
        assert_eq!(
            round_trip(spaced, &["b"], None, &v),
            "{\"a\": 1, \"b\": [1, {\"type\": \"command\", \"padding\": 0}]}"
        );
    }

    #[test]
    fn into_an_empty_container_one_level_deeper_than_its_line() {
        let t = "{\n    \"hooks\": {\n        \"Stop\": []\n    }\n}";
        let r = root(t);
        let st = style(t, &r);
        assert_eq!(st.unit, "    ");
        let stop = r.member("hooks").unwrap().1.value.member("Stop").unwrap().1;
        let added = append(t, &st, &stop.value, None, &json!({"a": [1]}));
        assert_eq!(
            added,
            "{\n    \"hooks\": {\n        \"Stop\": [\n            {\n                \"a\": [\n                    1\n                ]\n            }\n        ]\n    }\n}"
        );
        let r2 = root(&added);
        let stop = &r2
            .member("hooks")
            .unwrap()
            .1
            .value
            .member("Stop")
            .unwrap()
            .1
            .value;
        assert_eq!(remove(&added, stop, 0), t);
        assert_eq!(
            append(
                "{}",
                &style("{}", &root("{}")),
                &root("{}"),
                Some("k"),
                &json!(1)
            ),
            "{\n  \"k\": 1\n}"
        );
    }

    #[test]
    fn removing_a_middle_child_takes_its_separator() {
        let t = "[1, 2, 3]";
        let r = root(t);
        assert_eq!(remove(t, &r, 1), "[1, 3]");
        assert_eq!(remove(t, &r, 0), "[2, 3]");
        assert_eq!(remove(t, &r, 2), "[1, 2]");
        assert_eq!(remove("[ 1 ]", &root("[ 1 ]"), 0), "[]");
    }

    #[test]
    fn replace_keeps_one_line_values_on_one_line() {
        let t = "{\n  \"s\": {\"command\": \"x\"},\n  \"z\": 0\n}";
        let r = root(t);
        let s = &r.member("s").unwrap().1.value;
        let v = json!({"type": "command", "command": "y"});
        assert_eq!(
            replace(t, &style(t, &r), s, &v),
            "{\n  \"s\": {\"type\": \"command\", \"command\": \"y\"},\n  \"z\": 0\n}"
        );
        let t = "{\n  \"s\": \"old\"\n}";
        let r = root(t);
        let s = &r.member("s").unwrap().1.value;
        assert_eq!(
            replace(t, &style(t, &r), s, &v),
            "{\n  \"s\": {\n    \"type\": \"command\",\n    \"command\": \"y\"\n  }\n}"
        );
    }
}
