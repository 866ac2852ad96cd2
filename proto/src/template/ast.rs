//! The parsed form of a template. Built once by [`super::parser`], walked
//! per render by [`super::eval`]; nothing here changes after parsing, so a
//! template is `Send + Sync` and shared behind an `Arc`.

use super::jsonpath::JsonPath;
use regex::Regex;

/// Where a construct starts in the source (1-based, in characters), for
/// render errors that point at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

#[derive(Debug)]
pub enum Node {
    Text(Box<str>),
    /// `$x...` in text: rendered as its value.
    Ref(Ref),
    Set {
        target: Target,
        value: Expr,
        pos: Pos,
    },
    If {
        branches: Vec<(Expr, Vec<Node>)>,
        otherwise: Vec<Node>,
    },
    Foreach {
        var: u32,
        iterable: Expr,
        body: Vec<Node>,
    },
    Break,
    Stop,
}

/// The variable a reference starts from. Locals are numbered at parse time
/// so a render keeps them in a vector, without hashing names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    Local(u32),
    Input,
    Util,
    Context,
    StageVariables,
    /// `$foreach`: the innermost loop's state.
    Foreach,
    /// `$velocityCount`: the innermost loop's 1-based count.
    VelocityCount,
}

#[derive(Debug)]
pub struct Ref {
    pub root: Root,
    pub segments: Vec<Segment>,
    /// `$!x`: renders nothing when null.
    pub quiet: bool,
    /// The reference's own source text, rendered when it is null (Velocity).
    pub source: Box<str>,
    pub pos: Pos,
}

#[derive(Debug)]
pub enum Segment {
    Property(Box<str>),
    Method(Method),
    Index(Expr),
}

#[derive(Debug)]
pub struct Method {
    pub name: Box<str>,
    pub args: Vec<Expr>,
    /// Work done once at parse time when the first argument is a literal.
    pub prepared: Prepared,
    pub pos: Pos,
}

/// A method's literal argument, compiled with the template.
#[derive(Debug)]
pub enum Prepared {
    None,
    /// `$input.json('$.a')`, `$input.path('$.a')`.
    JsonPath(JsonPath),
    /// `.matches(..)`, `.replaceAll(..)`, `.split(..)`.
    Regex(Regex),
}

/// The left side of `#set`.
#[derive(Debug)]
pub enum Target {
    /// `$x = ..`
    Local(u32),
    /// `$x.a.b = ..` or `$x.a[k] = ..`: the container, then the key.
    Member { container: Ref, key: Key },
    /// `$context.requestOverride.header.X = ..` and friends.
    Override(Override),
}

#[derive(Debug)]
pub enum Key {
    Name(Box<str>),
    Expr(Expr),
}

#[derive(Debug)]
pub enum Override {
    RequestHeader(Key),
    RequestQuerystring(Key),
    RequestPath(Key),
    ResponseStatus,
    ResponseHeader(Key),
}

#[derive(Debug)]
pub enum Expr {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// `'...'`: taken literally.
    Str(Box<str>),
    /// `"..."`: rendered like a template.
    Interpolated(Vec<Node>),
    Ref(Box<Ref>),
    List(Vec<Expr>),
    Range(Box<Expr>, Box<Expr>),
    Map(Vec<(Expr, Expr)>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}
