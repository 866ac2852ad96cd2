//! The JSONPath subset AWS's `$input.json(..)` and `$input.path(..)` accept
//! (Jayway's syntax): `$`, `.name`, `['name']`, `[n]` and `[-n]` (from the
//! end), `[*]` and `.*`, `..name` (any depth), unions `['a','b']` and
//! `[0,2]`, slices `[1:3]`, and filters `[?(@.x == 'y')]` with `== != < <=
//! > >=`, existence `[?(@.x)]`, `&&` and `||`.
//!
//! A path made only of names and indices is *definite* and selects one value
//! or nothing; any other selects a list, as in Jayway. Paths given as string
//! literals are parsed once with the template; a malformed one is a parse
//! error there. Paths apply to the body parsed into template [`Value`]s
//! (see [`super::json`]), so selections share its strings.

use super::value::{Value, as_f64, velocity_eq};

/// A parsed JSONPath.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    steps: Vec<Step>,
    definite: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Name(Box<str>),
    Index(i64),
    Wildcard,
    Union(Vec<Key>),
    Slice(Option<i64>, Option<i64>),
    Filter(Filter),
    /// `..step`: the step applied to the node and every node below it.
    Descendant(Box<Step>),
}

#[derive(Debug, Clone, PartialEq)]
enum Key {
    Name(Box<str>),
    Index(i64),
}

/// `a && b || c`: a list of alternatives, each a list of conditions.
#[derive(Debug, Clone, PartialEq)]
struct Filter {
    any_of: Vec<Vec<Condition>>,
}

#[derive(Debug, Clone, PartialEq)]
struct Condition {
    /// Relative to `@`: names and indices only.
    path: Vec<Key>,
    /// `None`: the path exists (and is not false/null).
    compare: Option<(CmpOp, Literal)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A filter's right-hand side.
#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Null,
    Bool(bool),
    Number(f64),
    String(Box<str>),
}

/// What a path selected.
#[derive(Debug)]
pub enum Selected {
    /// A definite path: the value, or nothing.
    One(Option<Value>),
    /// Any other path: every match, in document order.
    Many(Vec<Value>),
}

impl JsonPath {
    /// Parses a path; `name` and `a.b` are read as `$.name` and `$.a.b`, as
    /// Jayway does.
    pub fn parse(source: &str) -> Result<JsonPath, String> {
        let s = source.trim();
        let mut p = PathParser { s, i: 0 };
        if s.starts_with('$') {
            p.i = 1;
        } else if !s.starts_with('[') && !s.starts_with('.') && !s.is_empty() {
            // Jayway reads a bare `name.x` as `$.name.x`.
            let step = p.dot_name()?;
            let mut steps = vec![step];
            steps.extend(p.steps()?);
            return Ok(JsonPath::new(steps));
        } else if s.is_empty() {
            return Err("empty path; '$' selects the whole body".into());
        }
        let steps = p.steps()?;
        Ok(JsonPath::new(steps))
    }

    /// Whether the path names one value (names and indices only).
    pub fn is_definite(&self) -> bool {
        self.definite
    }

    fn new(steps: Vec<Step>) -> JsonPath {
        let definite = steps
            .iter()
            .all(|s| matches!(s, Step::Name(_) | Step::Index(_)));
        JsonPath { steps, definite }
    }

    /// Applies the path to `root`, counting one unit of work per node
    /// visited or selected in `work`.
    pub fn select(&self, root: &Value, work: &mut u64) -> Selected {
        match self.select_within(root, work, u64::MAX) {
            Ok(s) => s,
            Err(WorkExceeded) => Selected::Many(Vec::new()),
        }
    }

    /// [`JsonPath::select`] that stops as soon as `work` passes
    /// `max_work`, mid-walk: repeated `..` steps over a deeply nested body
    /// select combinatorially many nodes, and none of them is made past the
    /// limit.
    pub fn select_within(
        &self,
        root: &Value,
        work: &mut u64,
        max_work: u64,
    ) -> Result<Selected, WorkExceeded> {
        let mut walk = Walk {
            work: *work,
            max_work,
        };
        let mut current = vec![root.clone()];
        let result = (|| {
            for step in &self.steps {
                let mut next = Vec::new();
                for node in &current {
                    walk.apply(step, node, &mut next)?;
                }
                current = next;
            }
            Ok(())
        })();
        *work = walk.work;
        result?;
        Ok(if self.definite {
            Selected::One(current.into_iter().next())
        } else {
            Selected::Many(current)
        })
    }
}

fn index_of(len: usize, i: i64) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let i = if i < 0 { len + i } else { i };
    (0..len).contains(&i).then_some(i as usize)
}

fn name_get(node: &Value, name: &str) -> Option<Value> {
    match node {
        Value::Map(m) => m.borrow().get(name).cloned(),
        _ => None,
    }
}

fn index_get(node: &Value, i: i64) -> Option<Value> {
    match node {
        Value::List(a) => {
            let a = a.borrow();
            index_of(a.len(), i).map(|i| a[i].clone())
        }
        _ => None,
    }
}

fn key_get(node: &Value, key: &Key) -> Option<Value> {
    match key {
        Key::Name(n) => name_get(node, n),
        Key::Index(i) => index_get(node, *i),
    }
}

/// The values directly inside `node`, in order.
fn children(node: &Value) -> Vec<Value> {
    match node {
        Value::Map(m) => m.borrow().iter().map(|(_, v)| v.clone()).collect(),
        Value::List(a) => a.borrow().clone(),
        _ => Vec::new(),
    }
}

/// A selection passed its work limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkExceeded;

/// Work done by one selection, against its limit.
struct Walk {
    work: u64,
    max_work: u64,
}

impl Walk {
    fn spend(&mut self, n: u64) -> Result<(), WorkExceeded> {
        self.work = self.work.saturating_add(n);
        if self.work > self.max_work {
            Err(WorkExceeded)
        } else {
            Ok(())
        }
    }

    /// Adds `found` to `out`, a unit of work each.
    fn push(
        &mut self,
        out: &mut Vec<Value>,
        found: impl IntoIterator<Item = Value>,
    ) -> Result<(), WorkExceeded> {
        for v in found {
            self.spend(1)?;
            out.push(v);
        }
        Ok(())
    }

    fn apply(
        &mut self,
        step: &Step,
        node: &Value,
        out: &mut Vec<Value>,
    ) -> Result<(), WorkExceeded> {
        self.spend(1)?;
        match step {
            Step::Name(n) => self.push(out, name_get(node, n)),
            Step::Index(i) => self.push(out, index_get(node, *i)),
            Step::Wildcard => self.push(out, children(node)),
            Step::Union(keys) => {
                for k in keys {
                    self.push(out, key_get(node, k))?;
                }
                Ok(())
            }
            Step::Slice(start, end) => {
                if let Value::List(a) = node {
                    let a = a.borrow();
                    let len = a.len() as i64;
                    let norm = |i: i64| if i < 0 { (len + i).max(0) } else { i.min(len) };
                    let from = start.map_or(0, norm);
                    let to = end.map_or(len, norm);
                    if from < to {
                        self.push(out, a[from as usize..to as usize].iter().cloned())?;
                    }
                }
                Ok(())
            }
            Step::Filter(f) => {
                for v in children(node) {
                    self.spend(1)?;
                    if f.matches(&v) {
                        self.push(out, [v])?;
                    }
                }
                Ok(())
            }
            Step::Descendant(inner) => {
                let mut stack = vec![node.clone()];
                while let Some(n) = stack.pop() {
                    self.apply(inner, &n, out)?;
                    stack.extend(children(&n).into_iter().rev());
                }
                Ok(())
            }
        }
    }
}

impl Filter {
    fn matches(&self, item: &Value) -> bool {
        self.any_of
            .iter()
            .any(|all| all.iter().all(|c| c.matches(item)))
    }
}

impl Condition {
    fn matches(&self, item: &Value) -> bool {
        let mut v = Some(item.clone());
        for k in &self.path {
            v = v.and_then(|v| key_get(&v, k));
        }
        let Some(v) = v else { return false };
        let Some((op, lit)) = &self.compare else {
            return v.truthy();
        };
        let ord = match (&v, lit) {
            (Value::Int(_) | Value::Float(_), Literal::Number(b)) => {
                as_f64(&v).and_then(|a| a.partial_cmp(b))
            }
            (Value::String(a), Literal::String(b)) => Some((**a).cmp(&**b)),
            (a, b) => {
                let b = match b {
                    Literal::Null => Value::Null,
                    Literal::Bool(x) => Value::Bool(*x),
                    Literal::Number(_) | Literal::String(_) => return *op == CmpOp::Ne,
                };
                let same = matches!(
                    (a, &b),
                    (Value::Null, Value::Null) | (Value::Bool(_), Value::Bool(_))
                ) && velocity_eq(a, &b);
                return match op {
                    CmpOp::Eq => same,
                    CmpOp::Ne => !same,
                    _ => false,
                };
            }
        };
        let Some(ord) = ord else { return false };
        match op {
            CmpOp::Eq => ord.is_eq(),
            CmpOp::Ne => ord.is_ne(),
            CmpOp::Lt => ord.is_lt(),
            CmpOp::Le => ord.is_le(),
            CmpOp::Gt => ord.is_gt(),
            CmpOp::Ge => ord.is_ge(),
        }
    }
}

struct PathParser<'s> {
    s: &'s str,
    i: usize,
}

impl PathParser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.s[self.i..].starts_with(lit) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at character {}", self.i + 1))
    }

    fn steps(&mut self) -> Result<Vec<Step>, String> {
        let mut steps = Vec::new();
        while self.i < self.s.len() {
            if self.eat("..") {
                let inner = if self.peek() == Some(b'[') {
                    self.i += 1;
                    self.bracket()?
                } else {
                    self.dot_name()?
                };
                steps.push(Step::Descendant(Box::new(inner)));
            } else if self.eat(".") {
                steps.push(self.dot_name()?);
            } else if self.eat("[") {
                steps.push(self.bracket()?);
            } else {
                return self.err("expected '.', '..' or '['");
            }
        }
        Ok(steps)
    }

    /// After a dot: `*` or a name running to the next `.` or `[`.
    fn dot_name(&mut self) -> Result<Step, String> {
        if self.eat("*") {
            return Ok(Step::Wildcard);
        }
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == b'.' || c == b'[' {
                break;
            }
            self.i += 1;
        }
        let name = self.s[start..self.i].trim();
        if name.is_empty() {
            return self.err("expected a property name");
        }
        if name.contains(char::is_whitespace) {
            return self.err("a property name with a space; write ['a b']");
        }
        Ok(Step::Name(name.into()))
    }

    fn quoted(&mut self) -> Result<Box<str>, String> {
        let quote = self.peek().unwrap_or(b'\'');
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.s[self.i..].chars().next() else {
                return self.err("unterminated quoted name");
            };
            self.i += c.len_utf8();
            if c as u32 == quote as u32 {
                return Ok(out.into());
            }
            if c == '\\'
                && let Some(next) = self.s[self.i..].chars().next()
            {
                self.i += next.len_utf8();
                out.push(next);
                continue;
            }
            out.push(c);
        }
    }

    fn int(&mut self) -> Result<i64, String> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.s[start..self.i]
            .parse()
            .or_else(|_| self.err("expected an integer"))
    }

    /// After `[`, up to and including `]`.
    fn bracket(&mut self) -> Result<Step, String> {
        self.skip_ws();
        let step = match self.peek() {
            Some(b'*') => {
                self.i += 1;
                Step::Wildcard
            }
            Some(b'?') => {
                self.i += 1;
                self.skip_ws();
                if !self.eat("(") {
                    return self.err("expected '(' after '?'");
                }
                let f = self.filter()?;
                self.skip_ws();
                if !self.eat(")") {
                    return self.err("expected ')' to close the filter");
                }
                Step::Filter(f)
            }
            Some(b'\'' | b'"') => {
                let mut keys = vec![Key::Name(self.quoted()?)];
                loop {
                    self.skip_ws();
                    if !self.eat(",") {
                        break;
                    }
                    self.skip_ws();
                    if !matches!(self.peek(), Some(b'\'' | b'"')) {
                        return self.err("expected a quoted name after ','");
                    }
                    keys.push(Key::Name(self.quoted()?));
                }
                if keys.len() == 1 {
                    let Some(Key::Name(n)) = keys.pop() else {
                        unreachable!()
                    };
                    Step::Name(n)
                } else {
                    Step::Union(keys)
                }
            }
            Some(b'-' | b'0'..=b'9' | b':') => {
                let first = if self.peek() == Some(b':') {
                    None
                } else {
                    Some(self.int()?)
                };
                self.skip_ws();
                if self.eat(":") {
                    self.skip_ws();
                    let end = if matches!(self.peek(), Some(b'-' | b'0'..=b'9')) {
                        Some(self.int()?)
                    } else {
                        None
                    };
                    Step::Slice(first, end)
                } else {
                    let mut keys = vec![Key::Index(first.unwrap_or(0))];
                    while self.eat(",") {
                        self.skip_ws();
                        keys.push(Key::Index(self.int()?));
                        self.skip_ws();
                    }
                    if keys.len() == 1 {
                        Step::Index(first.unwrap_or(0))
                    } else {
                        Step::Union(keys)
                    }
                }
            }
            _ => return self.err("expected '*', a quoted name, an index, a slice or '?('"),
        };
        self.skip_ws();
        if !self.eat("]") {
            return self.err("expected ']'");
        }
        Ok(step)
    }

    fn filter(&mut self) -> Result<Filter, String> {
        let mut any_of = vec![vec![self.condition()?]];
        loop {
            self.skip_ws();
            if self.eat("&&") {
                let c = self.condition()?;
                any_of.last_mut().expect("never empty").push(c);
            } else if self.eat("||") {
                any_of.push(vec![self.condition()?]);
            } else {
                return Ok(Filter { any_of });
            }
        }
    }

    fn condition(&mut self) -> Result<Condition, String> {
        self.skip_ws();
        if !self.eat("@") {
            return self.err("expected '@' in the filter");
        }
        let mut path = Vec::new();
        loop {
            if self.eat(".") {
                match self.dot_filter_name()? {
                    Some(n) => path.push(Key::Name(n)),
                    None => return self.err("expected a property name after '.'"),
                }
            } else if self.eat("[") {
                self.skip_ws();
                let key = if matches!(self.peek(), Some(b'\'' | b'"')) {
                    Key::Name(self.quoted()?)
                } else {
                    Key::Index(self.int()?)
                };
                self.skip_ws();
                if !self.eat("]") {
                    return self.err("expected ']'");
                }
                path.push(key);
            } else {
                break;
            }
        }
        self.skip_ws();
        let op = [
            ("==", CmpOp::Eq),
            ("!=", CmpOp::Ne),
            ("<=", CmpOp::Le),
            (">=", CmpOp::Ge),
            ("<", CmpOp::Lt),
            (">", CmpOp::Gt),
        ]
        .into_iter()
        .find(|(lit, _)| self.eat(lit));
        let Some((_, op)) = op else {
            return Ok(Condition {
                path,
                compare: None,
            });
        };
        self.skip_ws();
        let lit = self.literal()?;
        Ok(Condition {
            path,
            compare: Some((op, lit)),
        })
    }

    fn dot_filter_name(&mut self) -> Result<Option<Box<str>>, String> {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c >= 0x80 {
                self.i += 1;
            } else {
                break;
            }
        }
        Ok((self.i > start).then(|| self.s[start..self.i].into()))
    }

    fn literal(&mut self) -> Result<Literal, String> {
        match self.peek() {
            Some(b'\'' | b'"') => Ok(Literal::String(self.quoted()?)),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.i;
                self.i += 1;
                while matches!(
                    self.peek(),
                    Some(b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                ) {
                    self.i += 1;
                }
                self.s[start..self.i]
                    .parse()
                    .map(Literal::Number)
                    .or_else(|_| self.err("bad number"))
            }
            _ => {
                for (lit, v) in [
                    ("true", Literal::Bool(true)),
                    ("false", Literal::Bool(false)),
                    ("null", Literal::Null),
                ] {
                    if self.eat(lit) {
                        return Ok(v);
                    }
                }
                self.err("expected a string, number, true, false or null")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value as Json, json};

    const DOC: &str = r#"{
        "store": {
            "book": [
                {"title": "A", "price": 8, "tags": ["x"]},
                {"title": "B", "price": 12, "isbn": "1-2"},
                {"title": "C", "price": 23, "isbn": "3-4"}
            ],
            "bicycle": {"color": "red", "price": 20}
        },
        "a b": 1
    }"#;

    fn doc() -> Json {
        serde_json::from_str(DOC).unwrap()
    }

    fn sel(path: &str) -> Json {
        let d = super::super::json::parse(DOC.as_bytes()).unwrap();
        let p = JsonPath::parse(path).unwrap();
        let mut work = 0;
        match p.select(&d, &mut work) {
            Selected::One(v) => v.map_or(Json::String("<none>".into()), |v| v.to_json()),
            Selected::Many(v) => Json::Array(v.iter().map(Value::to_json).collect()),
        }
    }

    #[test]
    fn definite_paths_select_one_value() {
        assert_eq!(sel("$"), doc());
        assert_eq!(sel("$.store.bicycle.color"), json!("red"));
        assert_eq!(sel("$['store']['bicycle']['color']"), json!("red"));
        assert_eq!(sel("$[\"a b\"]"), json!(1));
        assert_eq!(sel("$.store.book[1].title"), json!("B"));
        assert_eq!(sel("$.store.book[-1].title"), json!("C"));
        assert_eq!(sel("store.bicycle.price"), json!(20));
        assert_eq!(sel("$.store.nothing"), json!("<none>"));
        assert_eq!(sel("$.store.book[7]"), json!("<none>"));
    }

    #[test]
    fn indefinite_paths_select_lists() {
        assert_eq!(sel("$.store.book[*].title"), json!(["A", "B", "C"]));
        assert_eq!(sel("$.store.book.*.price"), json!([8, 12, 23]));
        assert_eq!(sel("$..price"), json!([8, 12, 23, 20]));
        assert_eq!(sel("$.store.book[0,2].title"), json!(["A", "C"]));
        assert_eq!(sel("$.store.bicycle['color','price']"), json!(["red", 20]));
        assert_eq!(sel("$.store.book[1:].title"), json!(["B", "C"]));
        assert_eq!(sel("$.store.book[:1].title"), json!(["A"]));
        assert_eq!(sel("$.store.book[-2:].title"), json!(["B", "C"]));
        assert_eq!(sel("$..book[0].title"), json!(["A"]));
        assert_eq!(sel("$.store.nothing[*]"), json!([]));
    }

    #[test]
    fn filters_compare_and_test_existence() {
        assert_eq!(sel("$.store.book[?(@.price < 10)].title"), json!(["A"]));
        assert_eq!(
            sel("$.store.book[?(@.price >= 12)].title"),
            json!(["B", "C"])
        );
        assert_eq!(sel("$.store.book[?(@.title == 'B')].price"), json!([12]));
        assert_eq!(
            sel("$.store.book[?(@.title != \"B\")].price"),
            json!([8, 23])
        );
        assert_eq!(sel("$.store.book[?(@.isbn)].title"), json!(["B", "C"]));
        assert_eq!(
            sel("$.store.book[?(@.price > 10 && @.price < 20 || @.title == 'A')].title"),
            json!(["A", "B"])
        );
        assert_eq!(
            sel("$.store.book[?(@['tags'][0] == 'x')].title"),
            json!(["A"])
        );
    }

    #[test]
    fn descendant_search_counts_every_node_visited() {
        let d = super::super::json::parse(br#"{"a": [{"a": 1}, {"b": {"a": 2}}]}"#).unwrap();
        let mut work = 0;
        let Selected::Many(found) = JsonPath::parse("$..a").unwrap().select(&d, &mut work) else {
            panic!("indefinite");
        };
        assert_eq!(found.len(), 3);
        assert!(work >= 6, "{work}");
    }

    #[test]
    fn malformed_paths_are_refused_with_the_place() {
        for bad in [
            "",
            "$.",
            "$[",
            "$['a'",
            "$[?(@.a ==)]",
            "$x",
            "$[abc]",
            "$[?@.a]",
        ] {
            let err = JsonPath::parse(bad).unwrap_err();
            assert!(!err.is_empty(), "{bad}");
        }
        assert_eq!(
            JsonPath::parse("$.a[").unwrap_err(),
            "expected '*', a quoted name, an index, a slice or '?(' at character 5"
        );
    }
}
