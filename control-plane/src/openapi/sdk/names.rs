//! Names in generated code: a document's names (schema names, operationIds,
//! parameter and property names, the API's title) are free text, and each
//! language has its own case, its own reserved words and its own idea of a
//! package name. Everything an SDK template writes as an identifier comes
//! through here, so no document can produce code that does not compile.

use super::model::ApiModel;
use heck::{ToKebabCase, ToLowerCamelCase, ToSnakeCase, ToUpperCamelCase};
use std::collections::{BTreeMap, HashSet};

/// The case an identifier is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// `PetStore` (types).
    Pascal,
    /// `getPet` (TypeScript methods).
    Camel,
    /// `get_pet` (Python and Rust functions, fields).
    Snake,
}

/// The ASCII words of `text`: anything not an ASCII letter or digit
/// separates words (heck then splits camel case too).
fn ascii(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect()
}

/// `text` in `case`, only ASCII letters, digits and `_`; never empty (a
/// name with no letters becomes `fallback`) and never starting with a digit
/// (`prefix` goes in front).
pub fn cased(text: &str, case: Case, fallback: &str, prefix: &str) -> String {
    let words = ascii(text);
    let name = match case {
        Case::Pascal => words.to_upper_camel_case(),
        Case::Camel => words.to_lower_camel_case(),
        Case::Snake => words.to_snake_case(),
    };
    if name.is_empty() {
        fallback.to_owned()
    } else if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("{prefix}{name}")
    } else {
        name
    }
}

/// Hands out identifiers that are unique within one scope (a module's
/// types, a function's parameters) and none of the scope's reserved words:
/// a clash gets `suffix` (and then a number) appended.
#[derive(Debug)]
pub struct Scope {
    taken: HashSet<String>,
    reserved: &'static [&'static str],
    suffix: &'static str,
}

impl Scope {
    pub fn new(reserved: &'static [&'static str], suffix: &'static str) -> Self {
        Self {
            taken: HashSet::new(),
            reserved,
            suffix,
        }
    }

    /// Reserves `name` as it is (e.g. the client's own class name).
    pub fn take(&mut self, name: &str) {
        self.taken.insert(name.to_owned());
    }

    /// `candidate`, or a variant of it, unique in this scope.
    pub fn unique(&mut self, candidate: String) -> String {
        let mut name = candidate;
        if self.reserved.contains(&name.as_str()) {
            name.push_str(self.suffix);
        }
        let base = name.clone();
        let mut n = 2;
        while !self.taken.insert(name.clone()) {
            name = format!("{base}{n}");
            n += 1;
        }
        name
    }
}

/// An npm package name from the API's name: `Pet Store` → `pet-store`.
pub fn npm_package(api_name: &str) -> String {
    let name = ascii(api_name).to_kebab_case();
    if name.is_empty() {
        "api-client".into()
    } else {
        name
    }
}

/// Why `name` is no npm package name (npm's rules: lower case, URL-safe,
/// at most 214 characters, optionally `@scope/`), or None.
pub fn npm_package_error(name: &str) -> Option<&'static str> {
    let plain = |part: &str| {
        !part.is_empty()
            && !part.starts_with(['.', '_'])
            && part.bytes().all(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || matches!(b, b'-' | b'.' | b'_' | b'~')
            })
    };
    let ok = match name.strip_prefix('@') {
        Some(scoped) => scoped
            .split_once('/')
            .is_some_and(|(scope, package)| plain(scope) && plain(package)),
        None => plain(name),
    };
    if name.len() > 214 {
        Some("an npm package name has at most 214 characters")
    } else if !ok {
        Some(
            "an npm package name is lower-case letters, digits, '-', '.', '_' and '~' (optionally @scope/name), not starting with '.' or '_'",
        )
    } else {
        None
    }
}

/// A Python import name (the package's folder) from the API's name:
/// `Pet Store` → `pet_store`.
pub fn python_package(api_name: &str) -> String {
    let name = cased(api_name, Case::Snake, "api_client", "api_");
    if PYTHON_KEYWORDS.contains(&name.as_str()) {
        format!("{name}_client")
    } else {
        name
    }
}

/// Why `name` cannot be a Python import name, or None.
pub fn python_package_error(name: &str) -> Option<&'static str> {
    let identifier = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !identifier {
        Some("a Python package name is ASCII letters, digits and '_', not starting with a digit")
    } else if PYTHON_KEYWORDS.contains(&name) {
        Some("a Python package name cannot be a keyword")
    } else {
        None
    }
}

/// A crate name from the API's name: `Pet Store` → `pet-store`.
pub fn crate_name(api_name: &str) -> String {
    let name = ascii(api_name).to_kebab_case();
    if name.is_empty() {
        "api-client".into()
    } else if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("api-{name}")
    } else if RUST_KEYWORDS.contains(&name.as_str()) || name == "test" {
        format!("{name}-client")
    } else {
        name
    }
}

/// Why `name` cannot be a crate name (Cargo's rules), or None.
pub fn crate_name_error(name: &str) -> Option<&'static str> {
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && name.len() <= 64;
    if !valid {
        Some(
            "a crate name is at most 64 ASCII letters, digits, '-' and '_', starting with a letter",
        )
    } else if RUST_KEYWORDS.contains(&name.replace('-', "_").as_str()) || name == "test" {
        Some("a crate name cannot be a Rust keyword or 'test'")
    } else {
        None
    }
}

/// Words TypeScript reserves, and the names the generated module itself
/// uses at the top level (a model named `Response` would hide fetch's).
pub const TYPESCRIPT_RESERVED: &[&str] = &[
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "import",
    "in",
    "instanceof",
    "new",
    "null",
    "return",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "as",
    "implements",
    "interface",
    "let",
    "package",
    "private",
    "protected",
    "public",
    "static",
    "yield",
    "any",
    "boolean",
    "number",
    "string",
    "symbol",
    "unknown",
    "never",
    "object",
    "undefined",
    "type",
    "Array",
    "Record",
    "Promise",
    "Response",
    "Request",
    "RequestInit",
    "Headers",
    "Error",
    "URL",
    "Date",
    "Object",
    "String",
    "Number",
    "Boolean",
    "JSON",
    "Uint8Array",
    "SignatureV4",
    "Sha256",
    "ApiError",
    "ClientOptions",
    "AwsCredentials",
    "Json",
];

/// Python's keywords and soft keywords, the builtins the generated module
/// uses, and its own top-level names.
pub const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield", "match", "case", "type", "_",
];

/// [`PYTHON_KEYWORDS`] and the names a generated module binds itself.
pub const PYTHON_RESERVED: &[&str] = &[
    "False",
    "None",
    "True",
    "and",
    "as",
    "assert",
    "async",
    "await",
    "break",
    "class",
    "continue",
    "def",
    "del",
    "elif",
    "else",
    "except",
    "finally",
    "for",
    "from",
    "global",
    "if",
    "import",
    "in",
    "is",
    "lambda",
    "nonlocal",
    "not",
    "or",
    "pass",
    "raise",
    "return",
    "try",
    "while",
    "with",
    "yield",
    "match",
    "case",
    "type",
    "_",
    "str",
    "int",
    "float",
    "bool",
    "list",
    "dict",
    "object",
    "bytes",
    "Any",
    "Literal",
    "TypedDict",
    "NotRequired",
    "Mapping",
    "Sequence",
    "Optional",
    "ApiError",
    "AwsCredentials",
    "json",
    "urllib",
    "self",
    "body",
];

/// Rust's keywords (strict, reserved and weak ones that matter), and the
/// names a generated crate uses at the top level.
pub const RUST_KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen", "union",
];

/// [`RUST_KEYWORDS`] and the type names a generated crate uses.
pub const RUST_RESERVED: &[&str] = &[
    "as",
    "break",
    "const",
    "continue",
    "crate",
    "else",
    "enum",
    "extern",
    "false",
    "fn",
    "for",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "pub",
    "ref",
    "return",
    "self",
    "Self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "async",
    "await",
    "dyn",
    "abstract",
    "become",
    "box",
    "do",
    "final",
    "macro",
    "override",
    "priv",
    "typeof",
    "unsized",
    "virtual",
    "yield",
    "try",
    "gen",
    "union",
    "String",
    "Vec",
    "Option",
    "Result",
    "Box",
    "Value",
    "Map",
    "Error",
    "ApiError",
    "AwsCredentials",
    "Client",
    "Some",
    "None",
    "Ok",
    "Err",
    "body",
    "client",
];

/// One language's type names: the client's (`{Title}Client`) and each
/// model's (Pascal case), all unique and none a reserved word of
/// `reserved`. The map goes from a model's name in the document to its
/// type's name; the scope holds them all, for more types to come.
pub fn type_names(
    api: &ApiModel,
    reserved: &'static [&'static str],
) -> (String, BTreeMap<String, String>, Scope) {
    let client = format!("{}Client", cased(&api.title, Case::Pascal, "Api", "Api"));
    let mut types = Scope::new(reserved, "Model");
    types.take(&client);
    let idents = api
        .models
        .iter()
        .map(|m| {
            let ident = types.unique(cased(&m.name, Case::Pascal, "Model", "T"));
            (m.name.clone(), ident)
        })
        .collect();
    (client, idents, types)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_split_on_punctuation_and_camel_humps() {
        assert_eq!(
            cased("pet-store API", Case::Pascal, "X", "T"),
            "PetStoreApi"
        );
        assert_eq!(cased("getPetById", Case::Snake, "x", "_"), "get_pet_by_id");
        assert_eq!(cased("x-api-key", Case::Camel, "x", "_"), "xApiKey");
        assert_eq!(cased("Ünïcode name", Case::Snake, "x", "_"), "n_code_name");
    }

    #[test]
    fn names_without_letters_or_starting_with_digits_are_made_identifiers() {
        assert_eq!(cased("{}/", Case::Pascal, "Model", "T"), "Model");
        assert_eq!(cased("2fa code", Case::Snake, "x", "n_"), "n_2fa_code");
        assert_eq!(cased("404", Case::Pascal, "Model", "T"), "T404");
    }

    #[test]
    fn a_scope_avoids_reserved_words_and_duplicates() {
        let mut scope = Scope::new(RUST_RESERVED, "_");
        assert_eq!(scope.unique("type".into()), "type_");
        assert_eq!(scope.unique("self".into()), "self_");
        assert_eq!(scope.unique("id".into()), "id");
        assert_eq!(scope.unique("id".into()), "id2");
        assert_eq!(scope.unique("id".into()), "id3");
        let mut scope = Scope::new(TYPESCRIPT_RESERVED, "Model");
        scope.take("PetsClient");
        assert_eq!(scope.unique("Response".into()), "ResponseModel");
        assert_eq!(scope.unique("PetsClient".into()), "PetsClient2");
        let mut scope = Scope::new(PYTHON_RESERVED, "_");
        assert_eq!(scope.unique("from".into()), "from_");
        assert_eq!(scope.unique("match".into()), "match_");
    }

    #[test]
    fn package_names_follow_each_ecosystem() {
        assert_eq!(npm_package("Pet Store (v2)"), "pet-store-v2");
        assert_eq!(python_package("Pet Store (v2)"), "pet_store_v2");
        assert_eq!(python_package("class"), "class_client");
        assert_eq!(python_package("3d shapes"), "api_3d_shapes");
        assert_eq!(crate_name("Pet Store (v2)"), "pet-store-v2");
        assert_eq!(crate_name("3d"), "api-3d");
        assert_eq!(crate_name("self"), "self-client");
        assert_eq!(crate_name("!!!"), "api-client");
    }

    #[test]
    fn package_names_given_are_checked() {
        assert_eq!(npm_package_error("@acme/pets"), None);
        assert!(npm_package_error("Pets").is_some());
        assert!(npm_package_error(".pets").is_some());
        assert!(npm_package_error("@acme").is_some());
        assert_eq!(python_package_error("pets_client"), None);
        assert!(python_package_error("pets-client").is_some());
        assert!(python_package_error("import").is_some());
        assert_eq!(crate_name_error("pets-client"), None);
        assert!(crate_name_error("1pets").is_some());
        assert!(crate_name_error("self").is_some());
    }
}
