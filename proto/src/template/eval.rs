//! Renders a parsed template against one request's [`Variables`].
//!
//! Every render is bounded by its [`Limits`]: each node, expression, loop
//! iteration and method call costs a step, and work proportional to data
//! (copying, scanning, building strings) costs one step per 64 bytes or
//! per value; the output and every string built along the way are capped.
//! So `#foreach($i in [1..1000000000])` stops with
//! [`RenderError::TooManySteps`] before it allocates, and
//! `#set($s = "$s$s")` in a loop with [`RenderError::OutputTooLarge`].

use super::ast::*;
use super::error::RenderError;
use super::json;
use super::jsonpath::{JsonPath, Selected};
use super::methods;
use super::util;
use super::value::{Map, Value, as_f64, velocity_eq};
use super::{Limits, Overrides, Variables};
use crate::mapping_expr::Location;
use std::borrow::Cow;
use std::collections::HashMap;
use std::rc::Rc;

/// Largest compiled program for a pattern built during a render (from
/// request data, say): smaller than a literal's, as the caller picks it.
const DYNAMIC_REGEX_SIZE_LIMIT: usize = 64 << 10;

/// Steps a compile costs besides one per byte of pattern (a compile of even
/// a short pattern is worth many scans).
const REGEX_COMPILE_STEPS: u64 = 256;

/// Most distinct patterns one render may compile; a loop over request
/// data making a new pattern per item stops here.
const MAX_DYNAMIC_REGEXES: usize = 64;

/// Deepest a list or map may nest during a render. JSON bodies nest up to
/// 128 levels (serde's limit), and templates wrap them a few times; values
/// within this depth are safe for the recursive walks (printing, copying,
/// comparing), and deeper ones are refused before any such walk.
pub const MAX_VALUE_DEPTH: usize = 256;

/// Steps and sizes left for one render.
pub struct Budget {
    steps: u64,
    max_steps: u64,
    max_bytes: usize,
    /// Patterns compiled during this render, by pattern, for a search
    /// (`[0]`) and a whole match (`[1]`). Shared, not cloned: a clone of a
    /// `Regex` starts with a cold matching cache.
    regexes: [HashMap<Rc<str>, Rc<regex::Regex>>; 2],
}

impl Budget {
    pub fn new(limits: &Limits) -> Self {
        Budget {
            steps: 0,
            max_steps: limits.max_steps,
            max_bytes: limits.max_output_bytes,
            regexes: Default::default(),
        }
    }

    /// A regular expression that is not a template literal, compiled once
    /// per render: the first compile costs a step per byte of pattern (a
    /// compile is far dearer than a scan), and at most
    /// [`MAX_DYNAMIC_REGEXES`] distinct patterns are compiled.
    pub fn dynamic_regex(
        &mut self,
        pattern: &str,
        whole: bool,
    ) -> Result<Rc<regex::Regex>, Box<RenderError>> {
        if let Some(re) = self.regexes[usize::from(whole)].get(pattern) {
            return Ok(re.clone());
        }
        self.charge(REGEX_COMPILE_STEPS + pattern.len() as u64)?;
        let invalid = |reason: String| {
            Box::new(RenderError::InvalidRegex {
                line: 0,
                column: 0,
                pattern: pattern.to_owned(),
                reason,
            })
        };
        if self.regexes.iter().map(HashMap::len).sum::<usize>() >= MAX_DYNAMIC_REGEXES {
            return Err(invalid(format!(
                "more than {MAX_DYNAMIC_REGEXES} distinct patterns in one render"
            )));
        }
        let re = methods::compile_regex_within(pattern, whole, DYNAMIC_REGEX_SIZE_LIMIT)
            .map_err(invalid)?;
        let re = Rc::new(re);
        self.regexes[usize::from(whole)].insert(Rc::from(pattern), re.clone());
        Ok(re)
    }

    pub fn charge(&mut self, n: u64) -> Result<(), Box<RenderError>> {
        self.steps = self.steps.saturating_add(n);
        if self.steps > self.max_steps {
            Err(Box::new(RenderError::TooManySteps {
                limit: self.max_steps,
            }))
        } else {
            Ok(())
        }
    }

    /// Steps this render may still take.
    pub fn steps_left(&self) -> u64 {
        self.max_steps.saturating_sub(self.steps)
    }

    /// Work over `n` bytes: one step per 64.
    pub fn charge_bytes(&mut self, n: usize) -> Result<(), Box<RenderError>> {
        self.charge((n / 64) as u64)
    }

    /// Whether a string of `len` bytes may exist in this render.
    pub fn fits(&self, len: usize) -> Result<(), Box<RenderError>> {
        if len > self.max_bytes {
            Err(Box::new(RenderError::OutputTooLarge {
                limit: self.max_bytes,
            }))
        } else {
            Ok(())
        }
    }

    /// A copy of `v` to put inside a list or map, paid for, and refused
    /// when the container would nest deeper than [`MAX_VALUE_DEPTH`].
    pub fn detach(&mut self, v: &Value) -> Result<Value, Box<RenderError>> {
        match v {
            Value::List(_) | Value::Map(_) => {
                if self.measure(v)? >= MAX_VALUE_DEPTH {
                    return Err(too_deep());
                }
                let mut work = 0;
                Ok(v.detached(&mut work))
            }
            other => Ok(other.clone()),
        }
    }

    /// Walks `v` with a loop (no recursion), paying a step per value in it
    /// as it goes, and returns how deep its lists and maps nest (0 for a
    /// scalar). A value nested deeper than [`MAX_VALUE_DEPTH`] is refused,
    /// and a value whose parts are shared many times over stops at the step
    /// limit, so every recursive walk after this one is bounded: call it
    /// before printing, copying or comparing a list or map.
    pub fn measure(&mut self, v: &Value) -> Result<usize, Box<RenderError>> {
        if !matches!(v, Value::List(_) | Value::Map(_)) {
            return Ok(0);
        }
        let mut deepest = 0;
        let mut pending = vec![(v.clone(), 1)];
        while let Some((v, depth)) = pending.pop() {
            self.charge(1)?;
            if depth > MAX_VALUE_DEPTH {
                return Err(too_deep());
            }
            deepest = deepest.max(depth);
            let mut visit = |child: &Value| match child {
                Value::List(_) | Value::Map(_) => {
                    pending.push((child.clone(), depth + 1));
                    Ok(())
                }
                _ => self.charge(1),
            };
            match &v {
                Value::List(items) => items.borrow().iter().try_for_each(&mut visit)?,
                Value::Map(map) => map.borrow().iter().try_for_each(|(_, c)| visit(c))?,
                _ => {}
            }
        }
        Ok(deepest)
    }

    fn write(&self, out: &mut String, s: &str) -> Result<(), Box<RenderError>> {
        self.fits(out.len() + s.len())?;
        out.push_str(s);
        Ok(())
    }
}

fn too_deep() -> Box<RenderError> {
    Box::new(RenderError::TooDeep {
        limit: MAX_VALUE_DEPTH,
    })
}

/// How a block ended.
enum Flow {
    Next,
    Break,
    Stop,
}

struct Loop {
    index: usize,
    len: usize,
}

pub struct Renderer<'r, 'a> {
    vars: &'r Variables<'a>,
    budget: Budget,
    locals: Vec<Value>,
    loops: Vec<Loop>,
    /// The body parsed as JSON, on first use.
    body_json: Option<Value>,
    body_text: Option<Rc<str>>,
    /// `$input.params()`, built on first use.
    params: Option<Value>,
    /// Whether values read from the body may be shared rather than copied
    /// (the template changes no list or map in place).
    share_body: bool,
    pub overrides: Overrides,
}

impl<'r, 'a> Renderer<'r, 'a> {
    pub fn new(vars: &'r Variables<'a>, limits: &Limits, locals: u32, share_body: bool) -> Self {
        Renderer {
            vars,
            budget: Budget::new(limits),
            locals: vec![Value::Null; locals as usize],
            loops: Vec::new(),
            body_json: None,
            body_text: None,
            params: None,
            share_body,
            overrides: Overrides::default(),
        }
    }

    pub fn render(&mut self, nodes: &[Node], out: &mut String) -> Result<(), Box<RenderError>> {
        self.nodes(nodes, out).map(|_| ())
    }

    fn nodes(&mut self, nodes: &[Node], out: &mut String) -> Result<Flow, Box<RenderError>> {
        for node in nodes {
            self.budget.charge(1)?;
            match node {
                Node::Text(t) => self.budget.write(out, t)?,
                Node::Ref(r) => match (r.root, &r.segments[..]) {
                    // `$util.escapeJavaScript(..)` and friends write
                    // straight into the output.
                    (Root::Util, [Segment::Method(m)]) => {
                        if let Some(v) = self.util_text(m, out)? {
                            self.write_ref(r, &v, out)?;
                        }
                    }
                    _ => {
                        let v = self.reference(r)?;
                        self.write_ref(r, &v, out)?;
                    }
                },
                Node::Set { target, value, pos } => self.set(target, value, *pos)?,
                Node::If {
                    branches,
                    otherwise,
                } => {
                    let mut chosen = otherwise;
                    for (cond, body) in branches {
                        if self.eval(cond)?.truthy() {
                            chosen = body;
                            break;
                        }
                    }
                    match self.nodes(chosen, out)? {
                        Flow::Next => {}
                        flow => return Ok(flow),
                    }
                }
                Node::Foreach {
                    var,
                    iterable,
                    body,
                } => {
                    if let Flow::Stop = self.foreach(*var, iterable, body, out)? {
                        return Ok(Flow::Stop);
                    }
                }
                Node::Break => return Ok(Flow::Break),
                Node::Stop => return Ok(Flow::Stop),
            }
        }
        Ok(Flow::Next)
    }

    fn foreach(
        &mut self,
        var: u32,
        iterable: &Expr,
        body: &[Node],
        out: &mut String,
    ) -> Result<Flow, Box<RenderError>> {
        let items: Vec<Value> = match &self.eval(iterable)? {
            Value::List(items) => items.borrow().clone(),
            Value::Map(map) => map.borrow().iter().map(|(_, v)| v.clone()).collect(),
            _ => return Ok(Flow::Next),
        };
        self.budget.charge(items.len() as u64)?;
        let slot = var as usize;
        let saved = std::mem::take(&mut self.locals[slot]);
        self.loops.push(Loop {
            index: 0,
            len: items.len(),
        });
        let mut flow = Flow::Next;
        for (i, item) in items.into_iter().enumerate() {
            self.budget.charge(1)?;
            if let Some(l) = self.loops.last_mut() {
                l.index = i;
            }
            self.locals[slot] = item;
            match self.nodes(body, out)? {
                Flow::Next => {}
                Flow::Break => break,
                Flow::Stop => {
                    flow = Flow::Stop;
                    break;
                }
            }
        }
        self.loops.pop();
        self.locals[slot] = saved;
        Ok(flow)
    }

    /// Writes a reference's value. Null renders the reference's source
    /// text, as Velocity does, except for quiet references (`$!x`) and
    /// AWS's own objects (`$input`, `$context`, `$stageVariables`,
    /// `$util`), whose missing values render as nothing.
    fn write_ref(&mut self, r: &Ref, v: &Value, out: &mut String) -> Result<(), Box<RenderError>> {
        match v {
            Value::Null => {
                let aws_object = matches!(
                    r.root,
                    Root::Input | Root::Context | Root::StageVariables | Root::Util
                );
                if r.quiet || aws_object {
                    Ok(())
                } else {
                    self.budget.write(out, &r.source)
                }
            }
            Value::String(s) => self.budget.write(out, s),
            other => self.write_value(other, out),
        }
    }

    fn write_value(&mut self, v: &Value, out: &mut String) -> Result<(), Box<RenderError>> {
        match v {
            Value::String(s) => self.budget.write(out, s),
            Value::List(_) | Value::Map(_) => {
                self.budget.measure(v)?;
                self.budget.fits(out.len() + v.java_len())?;
                v.write_java(out);
                Ok(())
            }
            other => {
                let start = out.len();
                other.write_java(out);
                self.budget
                    .fits(out.len())
                    .inspect_err(|_| out.truncate(start))
            }
        }
    }

    fn stringify(&mut self, v: &Value) -> Result<Rc<str>, Box<RenderError>> {
        match v {
            Value::String(s) => Ok(s.clone()),
            other => {
                let mut s = String::new();
                self.write_value(other, &mut s)?;
                Ok(Rc::from(s))
            }
        }
    }

    // ---- #set ----------------------------------------------------------

    fn set(&mut self, target: &Target, value: &Expr, pos: Pos) -> Result<(), Box<RenderError>> {
        let v = self.eval(value)?;
        // Velocity 1.7 (AWS's engine) leaves the target alone when the
        // value is null.
        if v.is_null() {
            return Ok(());
        }
        match target {
            Target::Local(slot) => self.locals[*slot as usize] = v,
            Target::Member { container, key } => {
                let c = self.reference(container)?;
                match &c {
                    Value::Map(map) => {
                        let k = self.key(key)?;
                        let v = self.budget.detach(&v)?;
                        map.borrow_mut().insert(k, v);
                    }
                    Value::List(items) => {
                        let Key::Expr(e) = key else { return Ok(()) };
                        let i = self.eval(e)?;
                        let len = items.borrow().len();
                        if let Value::Int(i) = i
                            && let Ok(i) = usize::try_from(i)
                            && i < len
                        {
                            let v = self.budget.detach(&v)?;
                            items.borrow_mut()[i] = v;
                        }
                    }
                    _ => {}
                }
            }
            Target::Override(o) => self.set_override(o, v, pos)?,
        }
        Ok(())
    }

    fn key(&mut self, key: &Key) -> Result<Rc<str>, Box<RenderError>> {
        match key {
            Key::Name(n) => Ok(Rc::from(&**n)),
            Key::Expr(e) => {
                let v = self.eval(e)?;
                self.stringify(&v)
            }
        }
    }

    fn set_override(&mut self, o: &Override, v: Value, pos: Pos) -> Result<(), Box<RenderError>> {
        fn put(list: &mut Vec<(String, String)>, name: &str, value: String, ignore_case: bool) {
            let same = |n: &String| {
                if ignore_case {
                    n.eq_ignore_ascii_case(name)
                } else {
                    n == name
                }
            };
            match list.iter_mut().find(|(n, _)| same(n)) {
                Some(entry) => entry.1 = value,
                None => list.push((name.to_owned(), value)),
            }
        }
        let text = self.stringify(&v)?.to_string();
        match o {
            Override::ResponseStatus => {
                let status = match &v {
                    Value::Int(i) => u16::try_from(*i).ok(),
                    _ => text.trim().parse::<u16>().ok(),
                }
                .filter(|s| (100..=599).contains(s));
                match status {
                    Some(s) => self.overrides.response_status = Some(s),
                    None => {
                        return Err(Box::new(RenderError::InvalidStatusOverride {
                            line: pos.line,
                            column: pos.column,
                            value: text,
                        }));
                    }
                }
            }
            Override::ResponseHeader(k) => {
                let name = self.key(k)?;
                put(&mut self.overrides.response_headers, &name, text, true);
            }
            Override::RequestHeader(k) => {
                let name = self.key(k)?;
                put(&mut self.overrides.request_headers, &name, text, true);
            }
            Override::RequestQuerystring(k) => {
                let name = self.key(k)?;
                put(&mut self.overrides.request_querystring, &name, text, false);
            }
            Override::RequestPath(k) => {
                let name = self.key(k)?;
                put(&mut self.overrides.request_path, &name, text, false);
            }
        }
        Ok(())
    }

    // ---- references ------------------------------------------------------

    fn reference(&mut self, r: &Ref) -> Result<Value, Box<RenderError>> {
        let (mut v, used) = match r.root {
            Root::Local(slot) => (self.locals[slot as usize].clone(), 0),
            Root::VelocityCount => (
                self.loops
                    .last()
                    .map_or(Value::Null, |l| Value::Int(l.index as i64 + 1)),
                0,
            ),
            Root::Foreach => match (self.loops.last(), r.segments.first()) {
                (Some(l), Some(Segment::Property(p))) => {
                    let v = match &**p {
                        "index" => Value::Int(l.index as i64),
                        "count" => Value::Int(l.index as i64 + 1),
                        "hasNext" => Value::Bool(l.index + 1 < l.len),
                        "first" => Value::Bool(l.index == 0),
                        "last" => Value::Bool(l.index + 1 == l.len),
                        _ => Value::Null,
                    };
                    (v, 1)
                }
                _ => (Value::Null, r.segments.len()),
            },
            Root::StageVariables => match r.segments.first() {
                Some(Segment::Property(name)) => (
                    self.vars
                        .stage_variables
                        .get(name)
                        .map_or(Value::Null, Value::string),
                    1,
                ),
                _ => (Value::Null, r.segments.len()),
            },
            Root::Context => self.context(&r.segments),
            Root::Input => self.input(&r.segments)?,
            Root::Util => match r.segments.first() {
                Some(Segment::Method(m)) => (self.util(m)?, 1),
                _ => (Value::Null, r.segments.len()),
            },
        };
        for seg in &r.segments[used..] {
            if v.is_null() {
                return Ok(v);
            }
            v = self.segment(&v, seg)?;
        }
        Ok(v)
    }

    fn segment(&mut self, v: &Value, seg: &Segment) -> Result<Value, Box<RenderError>> {
        self.budget.charge(1)?;
        match seg {
            Segment::Property(name) => match v {
                Value::Map(map) => Ok(map.borrow().get(name).cloned().unwrap_or_default()),
                other => methods::property(&mut self.budget, other, name),
            },
            Segment::Index(e) => {
                let i = self.eval(e)?;
                Ok(match (v, i) {
                    (Value::List(items), Value::Int(i)) => usize::try_from(i)
                        .ok()
                        .and_then(|i| items.borrow().get(i).cloned())
                        .unwrap_or_default(),
                    (Value::Map(map), Value::Null) => {
                        map.borrow().get("null").cloned().unwrap_or_default()
                    }
                    (Value::Map(map), k) => {
                        let k = self.stringify(&k)?;
                        map.borrow().get(&k).cloned().unwrap_or_default()
                    }
                    _ => Value::Null,
                })
            }
            Segment::Method(m) => {
                let args = self.args(&m.args)?;
                methods::call(&mut self.budget, v, m, &args)
            }
        }
    }

    fn args(&mut self, args: &[Expr]) -> Result<Vec<Value>, Box<RenderError>> {
        args.iter().map(|a| self.eval(a)).collect()
    }

    /// `$context.a.b.c...`: the leading property chain goes to
    /// [`super::ContextVars::get`] in one call; what follows (methods,
    /// indexes) applies to its answer.
    fn context(&mut self, segments: &[Segment]) -> (Value, usize) {
        let mut names: [&str; 16] = [""; 16];
        let mut n = 0;
        for seg in segments.iter().take(names.len()) {
            match seg {
                Segment::Property(p) => {
                    names[n] = p;
                    n += 1;
                }
                _ => break,
            }
        }
        let path = &names[..n];
        let o = &self.overrides;
        let v = match path {
            [] => None,
            ["responseOverride", "status", ..] => {
                return (
                    o.response_status
                        .map_or(Value::Null, |s| Value::Int(i64::from(s))),
                    2,
                );
            }
            ["responseOverride", "header", name, ..] => {
                return (lookup(&o.response_headers, name, true), 3);
            }
            ["requestOverride", "header", name, ..] => {
                return (lookup(&o.request_headers, name, true), 3);
            }
            ["requestOverride", "querystring", name, ..] => {
                return (lookup(&o.request_querystring, name, false), 3);
            }
            ["requestOverride", "path", name, ..] => {
                return (lookup(&o.request_path, name, false), 3);
            }
            path => self.vars.context.get(path),
        };
        (v.unwrap_or_default(), n)
    }

    // ---- $input ------------------------------------------------------------

    fn input(&mut self, segments: &[Segment]) -> Result<(Value, usize), Box<RenderError>> {
        let v = match segments.first() {
            Some(Segment::Property(p)) if &**p == "body" => Value::String(self.body_text()),
            Some(Segment::Method(m)) => match (&*m.name, m.args.len()) {
                ("body", 0) => Value::String(self.body_text()),
                ("json", 1) => {
                    let path = self.json_path(m)?;
                    let body = self.body_json()?;
                    let selected = self.select(&path, &body)?;
                    let selected = match selected {
                        Selected::One(None) => return Ok((Value::string(""), 1)),
                        Selected::One(Some(v)) => v,
                        Selected::Many(vs) => Value::list(vs),
                    };
                    self.budget.measure(&selected)?;
                    let mut text = String::new();
                    if !json::write_within(&selected, &mut text, self.budget.max_bytes) {
                        self.budget.fits(text.len())?;
                    }
                    Value::String(Rc::from(text))
                }
                ("path", 1) => {
                    let path = self.json_path(m)?;
                    let body = self.body_json()?;
                    let selected = match self.select(&path, &body)? {
                        Selected::One(v) => v.unwrap_or_default(),
                        Selected::Many(vs) => Value::list(vs),
                    };
                    // A copy when the template may change it, so that later
                    // `$input.json`/`$input.path` calls see the body as it
                    // was, as in AWS where each call reads the body anew.
                    if self.share_body {
                        selected
                    } else {
                        self.budget.detach(&selected)?
                    }
                }
                ("params", 0) => self.all_params(),
                ("params", 1) => {
                    let name = self.eval(&m.args[0])?;
                    let name = self.stringify(&name)?;
                    let p = self.vars.params;
                    let found = p
                        .path(&name)
                        .or_else(|| p.querystring(&name))
                        .or_else(|| p.header(&name));
                    Value::string(found.unwrap_or(""))
                }
                _ => Value::Null,
            },
            _ => Value::Null,
        };
        Ok((v, 1))
    }

    /// Applies `path` to `body`, paying for the walk as it goes: it stops
    /// mid-walk when the steps left run out.
    fn select(&mut self, path: &JsonPath, body: &Value) -> Result<Selected, Box<RenderError>> {
        let mut work = 0;
        let selected = path.select_within(body, &mut work, self.budget.steps_left());
        self.budget.charge(work.max(1))?;
        // Past the limit, the charge above has failed already.
        selected.map_err(|_| {
            Box::new(RenderError::TooManySteps {
                limit: self.budget.max_steps,
            })
        })
    }

    fn body_text(&mut self) -> Rc<str> {
        self.body_text
            .get_or_insert_with(|| Rc::from(String::from_utf8_lossy(self.vars.body)))
            .clone()
    }

    /// The body as JSON, parsed once per render; an empty body reads as
    /// `{}`, as in AWS.
    fn body_json(&mut self) -> Result<Value, Box<RenderError>> {
        if let Some(j) = &self.body_json {
            return Ok(j.clone());
        }
        let body = self.vars.body;
        self.budget.charge_bytes(body.len())?;
        let j = if body.iter().all(u8::is_ascii_whitespace) {
            Value::map(Map::new())
        } else {
            let mut nodes = 0;
            let j = json::parse_counting(body, &mut nodes)
                .map_err(|reason| RenderError::BodyNotJson { reason })?;
            // A step per value and key: the text's length under-counts
            // bodies of many small fields.
            self.budget.charge(nodes)?;
            j
        };
        self.body_json = Some(j.clone());
        Ok(j)
    }

    fn json_path<'m>(&mut self, m: &'m Method) -> Result<Cow<'m, JsonPath>, Box<RenderError>> {
        if let Prepared::JsonPath(p) = &m.prepared {
            return Ok(Cow::Borrowed(p));
        }
        let arg = self.eval(&m.args[0])?;
        let text = self.stringify(&arg)?;
        JsonPath::parse(&text).map(Cow::Owned).map_err(|reason| {
            Box::new(RenderError::InvalidJsonPath {
                line: m.pos.line,
                column: m.pos.column,
                path: text.to_string(),
                reason,
            })
        })
    }

    /// `$input.params()`: `{path: {..}, querystring: {..}, header: {..}}`,
    /// the header map matching names without regard to case.
    fn all_params(&mut self) -> Value {
        if let Some(p) = &self.params {
            return p.clone();
        }
        let mut all = Map::new();
        for (key, location) in [
            ("path", Location::Path),
            ("querystring", Location::QueryString),
            ("header", Location::Header),
        ] {
            let mut map = if location == Location::Header {
                Map::case_insensitive()
            } else {
                Map::new()
            };
            self.vars.params.each(location, &mut |name, value| {
                map.insert(Rc::from(name), Value::string(value));
            });
            all.insert(Rc::from(key), Value::map(map));
        }
        let v = Value::map(all);
        self.params = Some(v.clone());
        v
    }

    // ---- $util -------------------------------------------------------------

    fn util(&mut self, m: &Method) -> Result<Value, Box<RenderError>> {
        let mut text = String::new();
        match self.util_text(m, &mut text)? {
            Some(v) => Ok(v),
            None => Ok(Value::String(Rc::from(text))),
        }
    }

    /// Runs a `$util` function: a string result is appended to `out`
    /// (within the output limit) and `None` returned; any other result
    /// (parsed JSON, null) is returned.
    fn util_text(
        &mut self,
        m: &Method,
        out: &mut String,
    ) -> Result<Option<Value>, Box<RenderError>> {
        self.budget.charge(1)?;
        if m.args.len() != 1 {
            return Ok(Some(Value::Null));
        }
        let arg = self.eval(&m.args[0])?;
        if arg.is_null() {
            return Ok(Some(Value::Null));
        }
        let s = self.stringify(&arg)?;
        self.budget.charge_bytes(s.len())?;
        let start = out.len();
        match &*m.name {
            "escapeJavaScript" => util::escape_javascript(&s, out),
            "urlEncode" => out.push_str(&util::url_encode(&s)),
            "urlDecode" => out.push_str(&util::url_decode(&s)),
            "base64Encode" => out.push_str(&util::base64_encode(&s)),
            "base64Decode" => match util::base64_decode(&s) {
                Some(d) => out.push_str(&d),
                None => return Ok(Some(Value::Null)),
            },
            "parseJson" => {
                let mut nodes = 0;
                let parsed = json::parse_counting(s.as_bytes(), &mut nodes).map_err(|reason| {
                    Box::new(RenderError::ParseJson {
                        line: m.pos.line,
                        column: m.pos.column,
                        reason,
                    })
                });
                self.budget.charge(nodes)?;
                return parsed.map(Some);
            }
            _ => return Ok(Some(Value::Null)),
        }
        if let Err(e) = self.budget.fits(out.len()) {
            out.truncate(start);
            return Err(e);
        }
        Ok(None)
    }

    // ---- expressions -------------------------------------------------------

    fn eval(&mut self, e: &Expr) -> Result<Value, Box<RenderError>> {
        self.budget.charge(1)?;
        Ok(match e {
            Expr::Null => Value::Null,
            Expr::Bool(b) => Value::Bool(*b),
            Expr::Int(i) => Value::Int(*i),
            Expr::Float(f) => Value::Float(*f),
            Expr::Str(s) => Value::string(s),
            Expr::Interpolated(nodes) => {
                let mut s = String::new();
                self.nodes(nodes, &mut s)?;
                self.budget.charge_bytes(s.len())?;
                Value::String(Rc::from(s))
            }
            Expr::Ref(r) => self.reference(r)?,
            // Elements are copies, as with `add`: no value shares a part
            // with another (so `[$x, $x]` repeated cannot double its size
            // for free) and every level of nesting is checked.
            Expr::List(items) => {
                let mut list = Vec::with_capacity(items.len());
                for item in items {
                    let v = self.eval(item)?;
                    list.push(self.budget.detach(&v)?);
                }
                Value::list(list)
            }
            Expr::Range(from, to) => {
                let (from, to) = (self.eval(from)?, self.eval(to)?);
                let (Some(from), Some(to)) = (range_bound(&from), range_bound(&to)) else {
                    return Ok(Value::Null);
                };
                let len = from.abs_diff(to).saturating_add(1);
                self.budget.charge(len)?;
                let items: Vec<Value> = if from <= to {
                    (from..=to).map(Value::Int).collect()
                } else {
                    (to..=from).rev().map(Value::Int).collect()
                };
                Value::list(items)
            }
            Expr::Map(entries) => {
                let mut map = Map::new();
                for (k, v) in entries {
                    let k = self.eval(k)?;
                    let k = self.stringify(&k)?;
                    let v = self.eval(v)?;
                    let v = self.budget.detach(&v)?;
                    map.insert(k, v);
                }
                Value::map(map)
            }
            Expr::Not(e) => Value::Bool(!self.eval(e)?.truthy()),
            Expr::Neg(e) => match self.eval(e)? {
                Value::Int(i) => i
                    .checked_neg()
                    .map_or(Value::Float(-(i as f64)), Value::Int),
                Value::Float(f) => Value::Float(-f),
                _ => Value::Null,
            },
            Expr::Binary(op, l, r) => self.binary(*op, l, r)?,
        })
    }

    fn binary(&mut self, op: BinOp, l: &Expr, r: &Expr) -> Result<Value, Box<RenderError>> {
        match op {
            BinOp::And => {
                return Ok(Value::Bool(
                    self.eval(l)?.truthy() && self.eval(r)?.truthy(),
                ));
            }
            BinOp::Or => {
                return Ok(Value::Bool(
                    self.eval(l)?.truthy() || self.eval(r)?.truthy(),
                ));
            }
            _ => {}
        }
        let (a, b) = (self.eval(l)?, self.eval(r)?);
        if matches!(op, BinOp::Eq | BinOp::Ne) {
            self.budget.measure(&a)?;
            self.budget.measure(&b)?;
        }
        Ok(match op {
            BinOp::Eq => Value::Bool(velocity_eq(&a, &b)),
            BinOp::Ne => Value::Bool(!velocity_eq(&a, &b)),
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let ord = match (&a, &b) {
                    (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
                    (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
                    _ => as_f64(&a)
                        .zip(as_f64(&b))
                        .and_then(|(x, y)| x.partial_cmp(&y)),
                };
                Value::Bool(ord.is_some_and(|o| match op {
                    BinOp::Lt => o.is_lt(),
                    BinOp::Le => o.is_le(),
                    BinOp::Gt => o.is_gt(),
                    _ => o.is_ge(),
                }))
            }
            BinOp::Add if matches!(a, Value::String(_)) || matches!(b, Value::String(_)) => {
                if a.is_null() || b.is_null() {
                    return Ok(Value::Null);
                }
                let (x, y) = (self.stringify(&a)?, self.stringify(&b)?);
                self.budget.fits(x.len() + y.len())?;
                self.budget.charge_bytes(x.len() + y.len())?;
                let mut s = String::with_capacity(x.len() + y.len());
                s.push_str(&x);
                s.push_str(&y);
                Value::String(Rc::from(s))
            }
            _ => arithmetic(op, &a, &b),
        })
    }
}

fn lookup(list: &[(String, String)], name: &str, ignore_case: bool) -> Value {
    list.iter()
        .find(|(n, _)| {
            if ignore_case {
                n.eq_ignore_ascii_case(name)
            } else {
                n == name
            }
        })
        .map_or(Value::Null, |(_, v)| Value::string(v))
}

fn range_bound(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `+ - * / %` on numbers: integers stay integers (promoted to doubles on
/// overflow), integer division truncates, and division by zero is null,
/// as Velocity's math.
fn arithmetic(op: BinOp, a: &Value, b: &Value) -> Value {
    if let (Value::Int(x), Value::Int(y)) = (a, b) {
        let (x, y) = (*x, *y);
        let exact = match op {
            BinOp::Add => x.checked_add(y),
            BinOp::Sub => x.checked_sub(y),
            BinOp::Mul => x.checked_mul(y),
            BinOp::Div if y == 0 => return Value::Null,
            BinOp::Div => x.checked_div(y),
            BinOp::Rem if y == 0 => return Value::Null,
            BinOp::Rem => x.checked_rem(y),
            _ => return Value::Null,
        };
        if let Some(v) = exact {
            return Value::Int(v);
        }
    }
    let (Some(x), Some(y)) = (as_f64(a), as_f64(b)) else {
        return Value::Null;
    };
    match op {
        BinOp::Add => Value::Float(x + y),
        BinOp::Sub => Value::Float(x - y),
        BinOp::Mul => Value::Float(x * y),
        BinOp::Div if y == 0.0 => Value::Null,
        BinOp::Div => Value::Float(x / y),
        BinOp::Rem if y == 0.0 => Value::Null,
        BinOp::Rem => Value::Float(x % y),
        _ => Value::Null,
    }
}
