//! Parses AWS's Velocity dialect into [`super::ast`] in one pass over the
//! source, without a separate token stream: Velocity is text with `$`
//! references and `#` directives in it, and what a character means depends
//! on where it sits.
//!
//! Whitespace: a line holding only directives (`#set`, `#if`, `#elseif`,
//! `#else`, `#end`, `#foreach`, `#break`, `#stop`) or `#* *#` comments,
//! with blanks around them, renders as nothing, its newline included
//! (Velocity 2's "lines" space gobbling, which keeps JSON templates tidy);
//! a directive sharing its line with text or a reference leaves the text
//! and newline alone. (One gap: a block opened and closed on one indented
//! line, `  #if(..)..#end`, keeps the indentation, not the newline.)
//! A `## comment` runs to the end of its line and takes the newline.
//!
//! Escapes: `\$` and `\#` render `$` and `#`; any other backslash is text.
//! In `"..."` strings (which are rendered like templates) `\"` is a quote;
//! `'...'` strings are taken literally.
//!
//! Bounds: blocks and expressions nest at most [`MAX_DEPTH`] deep, so a
//! hostile template cannot exhaust the stack; the parser is otherwise linear.

use super::ast::*;
use super::error::ParseError;
use super::jsonpath::JsonPath;
use std::collections::HashMap;

/// How deep directives, parentheses, lists, maps and strings may nest.
pub const MAX_DEPTH: u32 = 64;

pub struct Parsed {
    pub nodes: Vec<Node>,
    /// How many distinct local variable names the template uses.
    pub locals: u32,
    /// Whether the template may change a list or map in place (a method
    /// such as `add`/`put`, or `#set($m.key = ..)`). When it cannot, values
    /// read from the body are shared instead of copied.
    pub mutates: bool,
    /// Bytes of literal text, to size the output once.
    pub text_len: usize,
}

/// Methods that change their list or map.
const MUTATORS: &[&str] = &["add", "addAll", "put", "putAll", "remove", "set", "clear"];

pub fn parse(source: &str) -> Result<Parsed, ParseError> {
    let mut p = Parser {
        src: source,
        b: source.as_bytes(),
        i: 0,
        end: source.len(),
        in_string: false,
        line_starts: std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect(),
        locals: HashMap::new(),
        depth: 0,
        mutates: false,
        text_len: 0,
        line_dirty: false,
    };
    let (nodes, end) = p.block()?;
    match end {
        Terminator::Eof => Ok(Parsed {
            nodes,
            locals: u32::try_from(p.locals.len()).unwrap_or(u32::MAX),
            mutates: p.mutates,
            text_len: p.text_len,
        }),
        other => Err(p.stray(other)),
    }
}

/// What ended a block.
enum Terminator {
    Eof,
    End(usize),
    Else(usize),
    ElseIf(usize, Expr),
}

struct Parser<'s> {
    src: &'s str,
    b: &'s [u8],
    i: usize,
    /// Where the current text ends: the source's end, or the closing quote
    /// of the `"..."` string being parsed.
    end: usize,
    in_string: bool,
    line_starts: Vec<usize>,
    locals: HashMap<String, u32>,
    depth: u32,
    mutates: bool,
    text_len: usize,
    /// Whether the current line has output other than blanks (text, a
    /// reference): then a directive on it keeps its line's whitespace.
    line_dirty: bool,
}

fn ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

const DIRECTIVES: &[&str] = &[
    "set", "if", "elseif", "else", "end", "foreach", "break", "stop",
];
const UNSUPPORTED: &[&str] = &["macro", "parse", "include", "evaluate", "define"];

impl<'s> Parser<'s> {
    fn at(&self, j: usize) -> Option<u8> {
        if j < self.end { Some(self.b[j]) } else { None }
    }

    fn peek(&self) -> Option<u8> {
        self.at(self.i)
    }

    fn pos(&self, at: usize) -> Pos {
        let line = self.line_starts.partition_point(|&s| s <= at).max(1);
        let start = self.line_starts[line - 1];
        let column = self.src[start..at.min(self.src.len())].chars().count() + 1;
        Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }

    fn error(&self, at: usize, reason: impl Into<String>) -> ParseError {
        let Pos { line, column } = self.pos(at);
        ParseError {
            line,
            column,
            reason: reason.into(),
        }
    }

    /// Describes what sits at `at`, for "expected X, found Y".
    fn found(&self, at: usize) -> String {
        match self.src[at.min(self.end)..self.end].chars().next() {
            None if self.in_string => "the end of the string".into(),
            None => "the end of the template".into(),
            Some('\n') => "a line break".into(),
            Some(c) => format!("'{c}'"),
        }
    }

    fn expected(&self, what: &str) -> ParseError {
        self.error(
            self.i,
            format!("expected {what}, found {}", self.found(self.i)),
        )
    }

    fn enter(&mut self, at: usize) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(
                at,
                format!("nested more than {MAX_DEPTH} levels deep (directives, parentheses, lists, maps or strings)"),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn stray(&self, t: Terminator) -> ParseError {
        match t {
            Terminator::End(at) => self.error(at, "#end without an open #if or #foreach"),
            Terminator::Else(at) => self.error(at, "#else without an open #if"),
            Terminator::ElseIf(at, _) => self.error(at, "#elseif without an open #if"),
            Terminator::Eof => self.expected("#end"),
        }
    }

    fn local(&mut self, name: &str) -> u32 {
        let next = u32::try_from(self.locals.len()).unwrap_or(u32::MAX);
        *self.locals.entry(name.to_owned()).or_insert(next)
    }

    // ---- whitespace gobbling -------------------------------------------

    /// When the line so far holds only blanks and directives, how many
    /// blanks at the end of `text` (the pending output) belong to it.
    fn blank_prefix(&self, _at: usize, text: &str) -> Option<usize> {
        if self.in_string || self.line_dirty {
            return None;
        }
        let tail = text.rfind('\n').map_or(text, |n| &text[n + 1..]);
        tail.bytes()
            .all(|c| c == b' ' || c == b'\t')
            .then_some(tail.len())
    }

    /// Notes output text for [`Parser::line_dirty`].
    fn saw_text(&mut self, t: &str) {
        let blank = |s: &str| s.bytes().all(|c| matches!(c, b' ' | b'\t' | b'\r'));
        match t.rfind('\n') {
            Some(n) => self.line_dirty = !blank(&t[n + 1..]),
            None => self.line_dirty |= !blank(t),
        }
    }

    /// If the rest of the line from `self.i` is blank, the position after
    /// its newline.
    fn blank_rest(&self) -> Option<usize> {
        let mut j = self.i;
        while matches!(self.at(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        match self.at(j) {
            None => Some(j),
            Some(b'\n') => Some(j + 1),
            Some(b'\r') if self.at(j + 1) == Some(b'\n') => Some(j + 2),
            _ => None,
        }
    }

    /// After a directive that ended at `self.i` and started at `start`:
    /// drops its line's blanks and newline when it stood alone on it.
    fn gobble(&mut self, start: usize, text: &mut String) {
        if let Some(prefix) = self.blank_prefix(start, text)
            && let Some(after) = self.blank_rest()
        {
            text.truncate(text.len() - prefix);
            self.i = after;
            self.line_dirty = false;
        }
    }

    // ---- blocks -------------------------------------------------------

    fn flush(&mut self, text: &mut String, nodes: &mut Vec<Node>) {
        if !text.is_empty() {
            self.text_len += text.len();
            nodes.push(Node::Text(std::mem::take(text).into()));
        }
    }

    fn block(&mut self) -> Result<(Vec<Node>, Terminator), ParseError> {
        let mut nodes = Vec::new();
        let mut text = String::new();
        while self.i < self.end {
            match self.b[self.i] {
                b'\\' => match self.at(self.i + 1) {
                    Some(c @ (b'$' | b'#')) => {
                        self.line_dirty = true;
                        text.push(c as char);
                        self.i += 2;
                        // `\$x`: the name after it is text too.
                        let start = self.i;
                        while self.peek().is_some_and(|c| ident_char(c) || c == b'!') {
                            self.i += 1;
                        }
                        text.push_str(&self.src[start..self.i]);
                    }
                    _ => {
                        self.line_dirty = true;
                        text.push('\\');
                        self.i += 1;
                    }
                },
                b'$' => {
                    self.line_dirty = true;
                    match self.reference(false)? {
                        Some(r) => {
                            self.flush(&mut text, &mut nodes);
                            nodes.push(Node::Ref(*r));
                        }
                        None => {
                            text.push('$');
                            self.i += 1;
                        }
                    }
                }
                b'#' => {
                    if let Some(t) = self.hash(&mut text, &mut nodes)? {
                        self.flush(&mut text, &mut nodes);
                        return Ok((nodes, t));
                    }
                }
                _ => {
                    let start = self.i;
                    while self.i < self.end && !matches!(self.b[self.i], b'\\' | b'$' | b'#') {
                        self.i += 1;
                    }
                    let run = &self.src[start..self.i];
                    self.saw_text(run);
                    text.push_str(run);
                }
            }
        }
        self.flush(&mut text, &mut nodes);
        Ok((nodes, Terminator::Eof))
    }

    /// At a `#`: a comment, a directive (pushed to `nodes`), a block's end
    /// (returned), or plain text.
    fn hash(
        &mut self,
        text: &mut String,
        nodes: &mut Vec<Node>,
    ) -> Result<Option<Terminator>, ParseError> {
        let start = self.i;
        match self.at(start + 1) {
            Some(b'#') => {
                let prefix = self.blank_prefix(start, text);
                let line_end = self.src[start..self.end]
                    .find('\n')
                    .map_or(self.end, |n| start + n + 1);
                self.i = line_end;
                if let Some(prefix) = prefix {
                    text.truncate(text.len() - prefix);
                }
                self.line_dirty = false;
                return Ok(None);
            }
            Some(b'*') => {
                let Some(close) = self.src[start + 2..self.end].find("*#") else {
                    return Err(
                        self.error(start, "unterminated comment: expected '*#' to close '#*'")
                    );
                };
                self.i = start + 2 + close + 2;
                self.gobble(start, text);
                return Ok(None);
            }
            Some(b'[') if self.at(start + 2) == Some(b'[') => {
                let Some(close) = self.src[start + 3..self.end].find("]]#") else {
                    return Err(self.error(start, "unterminated '#[[': expected ']]#'"));
                };
                let raw = &self.src[start + 3..start + 3 + close];
                self.saw_text(raw);
                self.line_dirty = true;
                text.push_str(raw);
                self.i = start + 3 + close + 3;
                return Ok(None);
            }
            _ => {}
        }
        let braced = self.at(start + 1) == Some(b'{');
        let name_start = start + 1 + usize::from(braced);
        let mut j = name_start;
        while self.at(j).is_some_and(ident_char) {
            j += 1;
        }
        let name = &self.src[name_start..j];
        if braced && self.at(j) != Some(b'}') {
            self.line_dirty = true;
            text.push('#');
            self.i = start + 1;
            return Ok(None);
        }
        if UNSUPPORTED.contains(&name) {
            return Err(self.error(
                start,
                format!("#{name} is not supported in mapping templates"),
            ));
        }
        if !DIRECTIVES.contains(&name) {
            self.line_dirty = true;
            text.push('#');
            self.i = start + 1;
            return Ok(None);
        }
        self.i = j + usize::from(braced);
        match name {
            "end" => {
                self.gobble(start, text);
                Ok(Some(Terminator::End(start)))
            }
            "else" => {
                self.gobble(start, text);
                Ok(Some(Terminator::Else(start)))
            }
            "elseif" => {
                let cond = self.condition("#elseif")?;
                self.gobble(start, text);
                Ok(Some(Terminator::ElseIf(start, cond)))
            }
            "break" | "stop" => {
                self.gobble(start, text);
                self.flush(text, nodes);
                nodes.push(if name == "break" {
                    Node::Break
                } else {
                    Node::Stop
                });
                Ok(None)
            }
            "set" => {
                let node = self.set(start)?;
                self.gobble(start, text);
                self.flush(text, nodes);
                nodes.push(node);
                Ok(None)
            }
            "if" => {
                let cond = self.condition("#if")?;
                self.gobble(start, text);
                self.flush(text, nodes);
                let node = self.if_rest(start, cond)?;
                nodes.push(node);
                Ok(None)
            }
            "foreach" => {
                let (var, iterable) = self.foreach_head()?;
                self.gobble(start, text);
                self.flush(text, nodes);
                self.enter(start)?;
                let (body, end) = self.block()?;
                self.leave();
                match end {
                    Terminator::End(_) => {}
                    Terminator::Eof => {
                        let p = self.pos(start);
                        return Err(self.expected(&format!(
                            "#end to close the #foreach at line {}, column {}",
                            p.line, p.column
                        )));
                    }
                    other => return Err(self.stray(other)),
                }
                nodes.push(Node::Foreach {
                    var,
                    iterable,
                    body,
                });
                Ok(None)
            }
            _ => unreachable!("every directive is handled"),
        }
    }

    /// `(expr)` after `#if` / `#elseif`.
    fn condition(&mut self, directive: &str) -> Result<Expr, ParseError> {
        self.skip_ws();
        if self.peek() != Some(b'(') {
            return Err(self.expected(&format!("'(' after {directive}")));
        }
        self.i += 1;
        let e = self.expr()?;
        self.skip_ws();
        if self.peek() != Some(b')') {
            return Err(self.expected(&format!("')' to close the {directive} condition")));
        }
        self.i += 1;
        Ok(e)
    }

    fn if_rest(&mut self, start: usize, first: Expr) -> Result<Node, ParseError> {
        self.enter(start)?;
        let mut branches = Vec::new();
        let mut cond = first;
        let otherwise = loop {
            let (body, end) = self.block()?;
            branches.push((cond, body));
            match end {
                Terminator::End(_) => break Vec::new(),
                Terminator::ElseIf(_, c) => cond = c,
                Terminator::Else(_) => {
                    let (body, end) = self.block()?;
                    match end {
                        Terminator::End(_) => break body,
                        Terminator::Else(at) => {
                            return Err(self.error(at, "a second #else in the same #if"));
                        }
                        Terminator::ElseIf(at, _) => {
                            return Err(self.error(at, "#elseif after #else"));
                        }
                        Terminator::Eof => return Err(self.unclosed_if(start)),
                    }
                }
                Terminator::Eof => return Err(self.unclosed_if(start)),
            }
        };
        self.leave();
        Ok(Node::If {
            branches,
            otherwise,
        })
    }

    fn unclosed_if(&self, start: usize) -> ParseError {
        let p = self.pos(start);
        self.expected(&format!(
            "#end to close the #if at line {}, column {}",
            p.line, p.column
        ))
    }

    fn foreach_head(&mut self) -> Result<(u32, Expr), ParseError> {
        self.skip_ws();
        if self.peek() != Some(b'(') {
            return Err(self.expected("'(' after #foreach"));
        }
        self.i += 1;
        self.skip_ws();
        let var_at = self.i;
        if self.peek() != Some(b'$') {
            return Err(self.expected("a loop variable such as $item"));
        }
        self.i += 1;
        let name = self
            .ident()
            .ok_or_else(|| self.expected("a loop variable name"))?;
        let var = match builtin(name) {
            Some(_) => {
                return Err(self.error(
                    var_at,
                    format!("${name} is built in and cannot be a loop variable"),
                ));
            }
            None => self.local(name),
        };
        self.skip_ws();
        if !self.word("in") {
            return Err(self.expected("'in' after the loop variable"));
        }
        let iterable = self.expr()?;
        self.skip_ws();
        if self.peek() != Some(b')') {
            return Err(self.expected("')' to close #foreach"));
        }
        self.i += 1;
        Ok((var, iterable))
    }

    fn set(&mut self, start: usize) -> Result<Node, ParseError> {
        self.skip_ws();
        if self.peek() != Some(b'(') {
            return Err(self.expected("'(' after #set"));
        }
        self.i += 1;
        self.skip_ws();
        let target_at = self.i;
        let target = match self.reference(true)? {
            Some(r) => self.target(target_at, *r)?,
            None => return Err(self.expected("a reference such as $name to set")),
        };
        self.skip_ws();
        if self.peek() != Some(b'=') || self.at(self.i + 1) == Some(b'=') {
            return Err(self.expected("'=' in #set"));
        }
        self.i += 1;
        let value = self.expr()?;
        self.skip_ws();
        if self.peek() != Some(b')') {
            return Err(self.expected("')' to close #set"));
        }
        self.i += 1;
        Ok(Node::Set {
            target,
            value,
            pos: self.pos(start),
        })
    }

    fn target(&mut self, at: usize, mut r: Ref) -> Result<Target, ParseError> {
        fn key(s: Segment) -> Option<Key> {
            match s {
                Segment::Property(n) => Some(Key::Name(n)),
                Segment::Index(e) => Some(Key::Expr(e)),
                Segment::Method(_) => None,
            }
        }
        match r.root {
            Root::Local(slot) if r.segments.is_empty() => Ok(Target::Local(slot)),
            Root::Local(_) => {
                let last = r.segments.pop().expect("not empty");
                let key = key(last)
                    .ok_or_else(|| self.error(at, "cannot #set a method call's result"))?;
                self.mutates = true;
                Ok(Target::Member { container: r, key })
            }
            Root::Context => {
                let bad = || {
                    self.error(
                        at,
                        "only $context.requestOverride.header|querystring|path.NAME, \
                         $context.responseOverride.status and \
                         $context.responseOverride.header.NAME can be set",
                    )
                };
                let mut segs = r.segments.into_iter();
                let first = match segs.next() {
                    Some(Segment::Property(n)) => n,
                    _ => return Err(bad()),
                };
                let second = match segs.next() {
                    Some(Segment::Property(n)) => n,
                    _ => return Err(bad()),
                };
                let third = segs.next();
                if segs.next().is_some() {
                    return Err(bad());
                }
                let o = match (&*first, &*second, third) {
                    ("responseOverride", "status", None) => Override::ResponseStatus,
                    ("responseOverride", "header", Some(k)) => {
                        Override::ResponseHeader(key(k).ok_or_else(bad)?)
                    }
                    ("requestOverride", "header", Some(k)) => {
                        Override::RequestHeader(key(k).ok_or_else(bad)?)
                    }
                    ("requestOverride", "querystring", Some(k)) => {
                        Override::RequestQuerystring(key(k).ok_or_else(bad)?)
                    }
                    ("requestOverride", "path", Some(k)) => {
                        Override::RequestPath(key(k).ok_or_else(bad)?)
                    }
                    _ => return Err(bad()),
                };
                Ok(Target::Override(o))
            }
            _ => Err(self.error(at, format!("{} is built in and cannot be set", r.source))),
        }
    }

    // ---- references -----------------------------------------------------

    fn ident(&mut self) -> Option<&'s str> {
        let start = self.i;
        if !self.peek().is_some_and(ident_start) {
            return None;
        }
        while self.peek().is_some_and(ident_char) {
            self.i += 1;
        }
        Some(&self.src[start..self.i])
    }

    /// A property name after `.`: an identifier that may hold inner hyphens
    /// (`$context.requestOverride.header.X-Trace-Id`), as Velocity 1.7 allows.
    fn property_name(&mut self) -> Option<&'s str> {
        let start = self.i;
        self.ident()?;
        while self.peek() == Some(b'-') && self.at(self.i + 1).is_some_and(ident_char) {
            self.i += 1;
            while self.peek().is_some_and(ident_char) {
                self.i += 1;
            }
        }
        Some(&self.src[start..self.i])
    }

    /// At `$`: a reference, or `None` when the `$` is plain text. In an
    /// expression (`strict`) an index that does not parse is an error; in
    /// text, `$a[` followed by something else leaves the `[` as text.
    fn reference(&mut self, strict: bool) -> Result<Option<Box<Ref>>, ParseError> {
        let start = self.i;
        let mut j = start + 1;
        let quiet = self.at(j) == Some(b'!');
        if quiet {
            j += 1;
        }
        let braced = self.at(j) == Some(b'{');
        if braced {
            j += 1;
        }
        if !self.at(j).is_some_and(ident_start) {
            return Ok(None);
        }
        self.i = j;
        let name = self.ident().expect("checked");
        let root = match builtin(name) {
            Some(b) => b,
            None => Root::Local(self.local(name)),
        };
        let mut segments = Vec::new();
        loop {
            match self.peek() {
                Some(b'.') if self.at(self.i + 1).is_some_and(ident_start) => {
                    self.i += 1;
                    let at = self.i;
                    let name = self.property_name().expect("checked");
                    if self.peek() == Some(b'(') && !name.contains('-') {
                        self.i += 1;
                        let args = self.args()?;
                        let prepared = self.prepare(root, &segments, name, &args, at)?;
                        self.mutates |= MUTATORS.contains(&name);
                        segments.push(Segment::Method(Method {
                            name: name.into(),
                            args,
                            prepared,
                            pos: self.pos(at),
                        }));
                    } else {
                        segments.push(Segment::Property(name.into()));
                    }
                }
                Some(b'[') => {
                    let (save, depth) = (self.i, self.depth);
                    self.i += 1;
                    match self.index_expr() {
                        Ok(e) => segments.push(Segment::Index(e)),
                        Err(e) if strict || braced => return Err(e),
                        Err(_) => {
                            self.i = save;
                            self.depth = depth;
                            break;
                        }
                    }
                }
                _ => break,
            }
        }
        if braced {
            if self.peek() != Some(b'}') {
                return Err(self.expected("'}' to close '${'"));
            }
            self.i += 1;
        }
        Ok(Some(Box::new(Ref {
            root,
            segments,
            quiet,
            source: self.src[start..self.i].into(),
            pos: self.pos(start),
        })))
    }

    fn index_expr(&mut self) -> Result<Expr, ParseError> {
        let e = self.expr()?;
        self.skip_ws();
        if self.peek() != Some(b']') {
            return Err(self.expected("']' to close the index"));
        }
        self.i += 1;
        Ok(e)
    }

    /// After `(`: arguments up to and including `)`.
    fn args(&mut self) -> Result<Vec<Expr>, ParseError> {
        let mut args = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b')') {
            self.i += 1;
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b')') => {
                    self.i += 1;
                    return Ok(args);
                }
                _ => return Err(self.expected("',' or ')' in the argument list")),
            }
        }
    }

    /// Compiles a literal JSONPath or regular expression argument now, so a
    /// bad one is refused with the template and no render pays for it.
    fn prepare(
        &self,
        root: Root,
        before: &[Segment],
        name: &str,
        args: &[Expr],
        at: usize,
    ) -> Result<Prepared, ParseError> {
        let Some(Expr::Str(lit)) = args.first() else {
            return Ok(Prepared::None);
        };
        if root == Root::Input && before.is_empty() && matches!(name, "json" | "path") {
            return JsonPath::parse(lit)
                .map(Prepared::JsonPath)
                .map_err(|e| self.error(at, format!("invalid JSONPath '{lit}': {e}")));
        }
        if matches!(name, "matches" | "replaceAll" | "replaceFirst" | "split") {
            return super::methods::compile_regex(lit, name == "matches")
                .map(Prepared::Regex)
                .map_err(|e| self.error(at, format!("invalid regular expression '{lit}': {e}")));
        }
        Ok(Prepared::None)
    }

    // ---- expressions ------------------------------------------------------

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// A word operator or keyword, not followed by more identifier.
    fn word(&mut self, w: &str) -> bool {
        let end = self.i + w.len();
        if end <= self.end
            && self.b[self.i..end] == *w.as_bytes()
            && !self.at(end).is_some_and(ident_char)
        {
            self.i = end;
            true
        } else {
            false
        }
    }

    fn sym(&mut self, s: &str) -> bool {
        let end = self.i + s.len();
        if end <= self.end && self.b[self.i..end] == *s.as_bytes() {
            self.i = end;
            true
        } else {
            false
        }
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.and()?;
        loop {
            self.skip_ws();
            if self.sym("||") || self.word("or") {
                let right = self.and()?;
                left = Expr::Binary(BinOp::Or, Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.equality()?;
        loop {
            self.skip_ws();
            if self.sym("&&") || self.word("and") {
                let right = self.equality()?;
                left = Expr::Binary(BinOp::And, Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn equality(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.relation()?;
        loop {
            self.skip_ws();
            let op = if self.sym("==") || self.word("eq") {
                BinOp::Eq
            } else if self.sym("!=") || self.word("ne") {
                BinOp::Ne
            } else {
                return Ok(left);
            };
            let right = self.relation()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn relation(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.additive()?;
        loop {
            self.skip_ws();
            let op = if self.sym("<=") || self.word("le") {
                BinOp::Le
            } else if self.sym(">=") || self.word("ge") {
                BinOp::Ge
            } else if self.sym("<") || self.word("lt") {
                BinOp::Lt
            } else if self.sym(">") || self.word("gt") {
                BinOp::Gt
            } else {
                return Ok(left);
            };
            let right = self.additive()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn additive(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.multiplicative()?;
        loop {
            self.skip_ws();
            let op = if self.sym("+") {
                BinOp::Add
            } else if self.sym("-") {
                BinOp::Sub
            } else {
                return Ok(left);
            };
            let right = self.multiplicative()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        loop {
            self.skip_ws();
            let op = if self.sym("*") {
                BinOp::Mul
            } else if self.sym("/") {
                BinOp::Div
            } else if self.sym("%") {
                BinOp::Rem
            } else {
                return Ok(left);
            };
            let right = self.unary()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        self.skip_ws();
        let at = self.i;
        self.enter(at)?;
        let e = if self.peek() == Some(b'!') && self.at(self.i + 1) != Some(b'=') {
            self.i += 1;
            Expr::Not(Box::new(self.unary()?))
        } else if self.word("not") {
            Expr::Not(Box::new(self.unary()?))
        } else if self.peek() == Some(b'-') {
            self.i += 1;
            match self.unary()? {
                Expr::Int(n) => Expr::Int(-n),
                Expr::Float(f) => Expr::Float(-f),
                e => Expr::Neg(Box::new(e)),
            }
        } else {
            self.primary()?
        };
        self.leave();
        Ok(e)
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        self.skip_ws();
        let at = self.i;
        match self.peek() {
            Some(b'(') => {
                self.i += 1;
                let e = self.expr()?;
                self.skip_ws();
                if self.peek() != Some(b')') {
                    return Err(self.expected("')'"));
                }
                self.i += 1;
                Ok(e)
            }
            Some(b'$') => match self.reference(true)? {
                Some(r) => Ok(Expr::Ref(r)),
                None => Err(self.expected("a reference name after '$'")),
            },
            Some(b'\'') => {
                let Some(close) = self.src[at + 1..self.end].find('\'') else {
                    return Err(self.error(at, "unterminated string: expected a closing '"));
                };
                self.i = at + 1 + close + 1;
                Ok(Expr::Str(self.src[at + 1..at + 1 + close].into()))
            }
            Some(b'"') => self.interpolated(at),
            Some(b'[') => {
                self.i += 1;
                self.list()
            }
            Some(b'{') => {
                self.i += 1;
                self.map()
            }
            Some(b'0'..=b'9') => self.number(),
            _ => {
                if self.word("true") {
                    Ok(Expr::Bool(true))
                } else if self.word("false") {
                    Ok(Expr::Bool(false))
                } else if self.word("null") {
                    Ok(Expr::Null)
                } else {
                    Err(self.expected("a value (a $reference, 'string', \"string\", number, true, false, null, [list] or {map})"))
                }
            }
        }
    }

    fn number(&mut self) -> Result<Expr, ParseError> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        let float =
            self.peek() == Some(b'.') && self.at(self.i + 1).is_some_and(|c| c.is_ascii_digit());
        if float {
            self.i += 1;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
        }
        if self.peek().is_some_and(ident_char) {
            return Err(self.expected("an operator after the number"));
        }
        let s = &self.src[start..self.i];
        if float {
            s.parse()
                .map(Expr::Float)
                .map_err(|_| self.error(start, "not a number"))
        } else {
            s.parse()
                .map(Expr::Int)
                .map_err(|_| self.error(start, "integer too large (at most 9223372036854775807)"))
        }
    }

    /// After `[`: `[]`, `[a, b]` or `[a..b]`.
    fn list(&mut self) -> Result<Expr, ParseError> {
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Expr::List(Vec::new()));
        }
        let first = self.expr()?;
        self.skip_ws();
        if self.sym("..") {
            let last = self.expr()?;
            self.skip_ws();
            if self.peek() != Some(b']') {
                return Err(self.expected("']' to close the range"));
            }
            self.i += 1;
            return Ok(Expr::Range(Box::new(first), Box::new(last)));
        }
        let mut items = vec![first];
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    items.push(self.expr()?);
                }
                Some(b']') => {
                    self.i += 1;
                    return Ok(Expr::List(items));
                }
                _ => return Err(self.expected("',' or ']' in the list")),
            }
        }
    }

    /// After `{`: `{}` or `{key: value, ...}`.
    fn map(&mut self) -> Result<Expr, ParseError> {
        let mut entries = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Expr::Map(entries));
        }
        loop {
            let k = self.expr()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.expected("':' after the map key"));
            }
            self.i += 1;
            let v = self.expr()?;
            entries.push((k, v));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Expr::Map(entries));
                }
                _ => return Err(self.expected("',' or '}' in the map")),
            }
        }
    }

    /// At `"`: the string's content is parsed as a template of its own.
    fn interpolated(&mut self, at: usize) -> Result<Expr, ParseError> {
        let mut j = at + 1;
        let close = loop {
            match self.at(j) {
                None => return Err(self.error(at, "unterminated string: expected a closing \"")),
                Some(b'\\') if self.at(j + 1) == Some(b'"') => j += 2,
                Some(b'"') => break j,
                Some(_) => j += 1,
            }
        };
        let content = &self.src[at + 1..close];
        if !content.contains(['$', '#', '\\']) {
            self.i = close + 1;
            return Ok(Expr::Str(content.into()));
        }
        self.enter(at)?;
        let (outer_end, outer_in_string, outer_dirty) = (self.end, self.in_string, self.line_dirty);
        self.end = close;
        self.in_string = true;
        self.i = at + 1;
        let parsed = self.block();
        self.end = outer_end;
        self.in_string = outer_in_string;
        self.line_dirty = outer_dirty;
        let (mut nodes, end) = parsed?;
        if !matches!(end, Terminator::Eof) {
            return Err(self.stray(end));
        }
        self.i = close + 1;
        self.leave();
        for n in &mut nodes {
            if let Node::Text(t) = n
                && t.contains("\\\"")
            {
                *t = t.replace("\\\"", "\"").into();
            }
        }
        Ok(Expr::Interpolated(nodes))
    }
}

fn builtin(name: &str) -> Option<Root> {
    Some(match name {
        "input" => Root::Input,
        "util" => Root::Util,
        "context" => Root::Context,
        "stageVariables" => Root::StageVariables,
        "foreach" => Root::Foreach,
        "velocityCount" => Root::VelocityCount,
        _ => return None,
    })
}
