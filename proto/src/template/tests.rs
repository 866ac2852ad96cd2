//! Rendering tests: every directive, expression form, method, `$input`,
//! `$util`, `$context` and override, the bounds, the parse errors, and
//! cases written from the behaviour AWS's documentation describes.

use super::*;
use serde_json::json;

struct Fixture {
    params: ParamList,
    context: serde_json::Value,
    stage: BTreeMap<String, String>,
}

fn fixture() -> Fixture {
    let pairs = |v: &[(&str, &str)]| {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>()
    };
    Fixture {
        params: ParamList {
            path: pairs(&[("petId", "42"), ("shared", "from-path")]),
            querystring: pairs(&[
                ("q", "cats & dogs"),
                ("limit", "10"),
                ("shared", "from-query"),
            ]),
            header: pairs(&[
                ("content-type", "application/json"),
                ("x-trace", "abc"),
                ("shared", "from-header"),
            ]),
        },
        context: json!({
            "requestId": "req-1",
            "stage": "prod",
            "httpMethod": "POST",
            "identity": {"sourceIp": "192.0.2.1", "userAgent": "curl/8"},
            "authorizer": {"principalId": "p-1", "claims": {"sub": "user-1", "cognito:groups": "admin"}}
        }),
        stage: [("env", "beta"), ("host", "backend.local")]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    }
}

fn try_render_limits(src: &str, body: &str, limits: &Limits) -> Result<Rendered, RenderError> {
    let f = fixture();
    let t = Template::parse(src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
    t.render(
        &Variables {
            body: body.as_bytes(),
            params: &f.params,
            context: &f.context,
            stage_variables: &f.stage,
        },
        limits,
    )
}

fn try_render(src: &str, body: &str) -> Result<Rendered, RenderError> {
    try_render_limits(src, body, &Limits::default())
}

fn render_body(src: &str, body: &str) -> String {
    try_render(src, body)
        .unwrap_or_else(|e| panic!("{src:?}: {e}"))
        .output
}

fn render(src: &str) -> String {
    render_body(src, "")
}

fn parse_err(src: &str) -> ParseError {
    match Template::parse(src) {
        Ok(_) => panic!("{src:?} parsed"),
        Err(e) => e,
    }
}

// ---- references --------------------------------------------------------

#[test]
fn references_plain_braced_and_quiet() {
    assert_eq!(render("#set($a = 'x')$a ${a}y $!a $!{a}"), "x xy x x");
}

#[test]
fn undefined_references_render_their_source_quiet_ones_nothing() {
    assert_eq!(
        render("[$nope] [${nope.a}] [$!nope] [$!{nope}]"),
        "[$nope] [${nope.a}] [] []"
    );
    assert_eq!(render("#set($m = {})[$m.missing]"), "[$m.missing]");
}

#[test]
fn aws_objects_render_nothing_when_missing() {
    assert_eq!(
        render("[$context.nothing][$stageVariables.none][$input.path('$.x')][$input.json('$.x')]"),
        "[][][][]"
    );
}

#[test]
fn a_dollar_that_starts_no_reference_is_text() {
    assert_eq!(
        render("costs $5, $ and $! and ${ and $."),
        "costs $5, $ and $! and ${ and $."
    );
    assert_eq!(render("#set($n = 'a')$n. $n.: ${n}.b"), "a. a.: a.b");
}

#[test]
fn property_chains_indexes_and_methods() {
    let out = render(concat!(
        "#set($m = {'a': {'b': ['x', 'y']}, 'k-1': 2})",
        "$m.a.b[1] $m.a.b.get(0) $m['k-1'] $m.a.b.size() $m.a.get('b')[0].toUpperCase()"
    ));
    assert_eq!(out, "y x 2 2 X");
}

#[test]
fn text_brackets_that_are_not_indexes_stay_text() {
    assert_eq!(render("#set($x = 'v')$x[abc] $x[ ]"), "v[abc] v[ ]");
}

#[test]
fn escaped_dollar_and_hash_render_literally() {
    assert_eq!(render(r"#set($a = 1)\$a \#if(x) \n"), r"$a #if(x) \n");
}

// ---- directives --------------------------------------------------------

#[test]
fn set_if_elseif_else() {
    let t = "#set($n = 5)#if($n > 10)big#elseif($n > 3)mid#{else}small#end";
    assert_eq!(render(t), "mid");
    assert_eq!(render("#if(false)a#elseif(false)b#else c#end"), " c");
    assert_eq!(render("#if($undefined)a#{else}b#end"), "b");
    assert_eq!(
        render("#if('')empty strings are true#end"),
        "empty strings are true"
    );
}

#[test]
fn set_with_null_keeps_the_old_value_as_velocity_1_7() {
    assert_eq!(render("#set($a = 1)#set($a = $nothing)$a"), "1");
    assert_eq!(
        render("#set($a = 1)#set($a = $input.path('$.none'))$a"),
        "1"
    );
}

#[test]
fn set_into_maps_and_lists() {
    assert_eq!(
        render("#set($m = {})#set($m.a = 1)#set($m['b c'] = 2)#set($k = 'd')#set($m[$k] = 3)$m"),
        "{a=1, b c=2, d=3}"
    );
    assert_eq!(render("#set($l = [1, 2])#set($l[1] = 'x')$l"), "[1, x]");
}

#[test]
fn foreach_with_loop_state() {
    let t = "#foreach($x in ['a', 'b', 'c'])$foreach.index:$foreach.count:$velocityCount:$x#if($foreach.hasNext),#end#end";
    assert_eq!(render(t), "0:1:1:a,1:2:2:b,2:3:3:c");
    let t = "#foreach($x in [1, 2])#if($foreach.first)[#end$x#if($foreach.last)]#end#end";
    assert_eq!(render(t), "[12]");
}

#[test]
fn foreach_nests_and_restores_the_loop_variable() {
    let t = "#set($x = 'outer')#foreach($x in [1, 2])#foreach($y in ['a', 'b'])$x$y$foreach.index #end#end$x";
    assert_eq!(render(t), "1a0 1b1 2a0 2b1 outer");
}

#[test]
fn foreach_over_maps_iterates_values_and_over_null_nothing() {
    assert_eq!(render("#foreach($v in {'a': 1, 'b': 2})$v#end"), "12");
    assert_eq!(render("#foreach($v in $nothing)x#end."), ".");
    assert_eq!(render("#foreach($v in 'str')x#end."), ".");
}

#[test]
fn break_leaves_the_loop_stop_ends_the_template() {
    assert_eq!(
        render("#foreach($i in [1..10])#if($i > 3)#break#end$i#end!"),
        "123!"
    );
    assert_eq!(
        render("a#foreach($i in [1..3])$i#if($i == 2)#stop#end#end never"),
        "a12"
    );
    assert_eq!(render("a#stop b"), "a");
}

#[test]
fn comments_are_dropped() {
    assert_eq!(render("a## line comment\nb#* block\ncomment *#c"), "abc");
    assert_eq!(render("a #[[ $not #if ]]# b"), "a  $not #if  b");
}

#[test]
fn directive_only_lines_leave_no_blank_lines() {
    let t = "{\n  #set($a = 1)\n  #if($a == 1)\n    \"a\": $a\n  #else\n    \"b\": 0\n  #end\n  ## note\n  #* c *#\n}";
    assert_eq!(render(t), "{\n    \"a\": 1\n}");
    let t = "[\n#foreach($i in [1, 2])\n  $i#if($foreach.hasNext),#end\n#end\n]";
    assert_eq!(render(t), "[\n  1,\n  2\n]");
}

#[test]
fn directives_sharing_a_line_with_text_keep_it() {
    assert_eq!(render("x #set($a = 1) y\nz"), "x  y\nz");
    assert_eq!(render("a#if(true)b#end\nc"), "ab\nc");
}

#[test]
fn unknown_hash_words_are_text() {
    assert_eq!(
        render("#hashtag #1 # #{x} #endx"),
        "#hashtag #1 # #{x} #endx"
    );
}

// ---- expressions -------------------------------------------------------

#[test]
fn literals_lists_ranges_and_maps() {
    assert_eq!(
        render("#set($v = [1, 2.5, true, null, 'a', \"b\", [], {}])$v"),
        "[1, 2.5, true, null, a, b, [], {}]"
    );
    assert_eq!(
        render("#set($r = [1..4])$r #set($d = [3..1])$d"),
        "[1, 2, 3, 4] [3, 2, 1]"
    );
    assert_eq!(render("#set($n = 2)#set($r = [$n..4])$r"), "[2, 3, 4]");
    assert_eq!(
        render("#set($m = {'a': 1, \"b\": [2]})$m $m.b[0]"),
        "{a=1, b=[2]} 2"
    );
}

#[test]
fn operators_and_precedence() {
    let cases = [
        ("1 + 2 * 3", "7"),
        ("(1 + 2) * 3", "9"),
        ("7 / 2", "3"),
        ("7 % 3", "1"),
        ("7.0 / 2", "3.5"),
        ("-3 + 1", "-2"),
        ("1 / 0", "null"),
        ("9223372036854775807 + 1", "9.223372036854776E18"),
        ("'a' + 1", "a1"),
        ("1 + 'a' + 2", "1a2"),
        ("1 < 2 && 2 <= 2 && 3 > 2 && 3 >= 4", "false"),
        ("1 lt 2 and 2 le 2 and 3 gt 2 and 4 ge 3", "true"),
        ("1 == 1.0 && 'a' != 'b' && 1 eq '1' && 2 ne 3", "true"),
        ("!true || not false", "true"),
        ("false or true and false", "false"),
        ("'abc' < 'abd'", "true"),
        ("null == $nothing", "true"),
    ];
    for (expr, want) in cases {
        assert_eq!(
            render(&format!("#set($r = {expr})#if($r == $null)null#else$r#end")),
            want,
            "{expr}"
        );
    }
}

#[test]
fn double_quoted_strings_interpolate_single_quoted_do_not() {
    assert_eq!(
        render(
            "#set($n = 'x')#set($a = \"<$n ${n}s \\\"q\\\" #if(true)yes#end>\")#set($b = '<$n>')$a $b"
        ),
        "<x xs \"q\" yes> <$n>"
    );
}

// ---- methods -----------------------------------------------------------

#[test]
fn string_methods() {
    let cases = [
        ("$s.length()", "11"),
        ("$s.size()", "11"),
        ("$s.isEmpty()", "false"),
        ("$s.toLowerCase()", " hello, wo "),
        ("$s.toUpperCase()", " HELLO, WO "),
        ("[$s.trim()]", "[Hello, Wo]"),
        ("$s.contains('lo')", "true"),
        ("$s.trim().startsWith('He')", "true"),
        ("$s.trim().endsWith('Wo')", "true"),
        ("$s.indexOf('l')", "3"),
        ("$s.lastIndexOf('l')", "4"),
        ("$s.indexOf('z')", "-1"),
        ("$s.substring(1, 6)", "Hello"),
        ("$s.substring(8)", "Wo "),
        ("$s.substring(9, 3)", "$s.substring(9, 3)"),
        ("$s.replace('l', 'L')", " HeLLo, Wo "),
        ("$s.replaceAll('[aeiou]', '*')", " H*ll*, W* "),
        ("$s.replaceAll('(\\w+), (\\w+)', '$2-$1')", " Wo-Hello "),
        ("$s.replaceFirst('l', '_')", " He_lo, Wo "),
        ("$s.split(',')", "[ Hello,  Wo ]"),
        ("$s.trim().split('\\s*,\\s*').size()", "2"),
        ("$s.matches('.*Hello.*')", "true"),
        ("$s.matches('Hello')", "false"),
        ("$s.equals(' Hello, Wo ')", "true"),
        ("$s.trim().equalsIgnoreCase('HELLO, wo')", "true"),
        ("$s.charAt(1)", "H"),
        ("$s.concat('!')", " Hello, Wo !"),
        ("$s.noSuchMethod()", "$s.noSuchMethod()"),
        ("$s.empty", "false"),
    ];
    for (expr, want) in cases {
        assert_eq!(
            render(&format!("#set($s = ' Hello, Wo '){expr}")),
            want,
            "{expr}"
        );
    }
    assert_eq!(
        render("#set($u = 'héllo')$u.length() $u.substring(1, 2) $u.charAt(1)"),
        "5 é é"
    );
    assert_eq!(render("#set($p = 'a,b,,')$p.split(',').size()"), "2");
}

#[test]
fn list_methods() {
    let t = "#set($l = [])#set($ok = $l.add('a'))#set($ok = $l.add(2))$l.size() $l.isEmpty() $l.get(0) $l.contains(2) $l.contains('z') $l.indexOf(2) $l.get(5) $l";
    assert_eq!(render(t), "2 false a true false 1 $l.get(5) [a, 2]");
    // As in Velocity, a call's result is rendered: `add` answers true.
    assert_eq!(render("#set($l = [])$l.add(1) $l"), "true [1]");
    assert_eq!(
        render("#set($l = [1, 2, 3])$l.remove(0) $l.set(0, 9) $l"),
        "1 2 [9, 3]"
    );
}

#[test]
fn lists_put_into_themselves_are_copied_not_cycled() {
    assert_eq!(
        render("#set($l = [1])#set($ok = $l.add($l))#set($ok = $l.add($l))$l"),
        "[1, [1], [1, [1]]]"
    );
    assert_eq!(render("#set($m = {})#set($m.self = $m)$m"), "{self={}}");
}

#[test]
fn map_methods() {
    let t = concat!(
        "#set($m = {'a': 1, 'b': 2})",
        "$m.get('a') $m.containsKey('b') $m.containsKey('z') $m.size() $m.isEmpty() ",
        "$m.keySet() $m.values() #set($old = $m.put('a', 10))$old $m.a ",
        "#foreach($e in $m.entrySet())$e.key=$e.value/$e.getKey()=$e.getValue();#end ",
        "$m.remove('b') $m"
    );
    assert_eq!(
        render(t),
        "1 true false 2 false [a, b] [1, 2] 1 10 a=10/a=10;b=2/b=2; 2 {a=10}"
    );
    // `put` of a new key answers null: Velocity renders the call's source.
    assert_eq!(render("#set($m = {})$m.put('k', 1)"), "$m.put('k', 1)");
}

// ---- $input ------------------------------------------------------------

const PETS: &str = r#"{"pets": [{"id": 1, "type": "dog", "price": 249.99}, {"id": 2, "type": "cat", "price": 124.5}], "owner": {"name": "Ana \"A\"", "tags": ["x", "y"]}, "count": 2}"#;

#[test]
fn input_body_json_and_path() {
    assert_eq!(render_body("$input.body", "raw text"), "raw text");
    assert_eq!(
        render_body("$input.json('$.owner.tags')", PETS),
        r#"["x","y"]"#
    );
    assert_eq!(
        render_body("$input.json('$.owner.name')", PETS),
        r#""Ana \"A\"""#
    );
    assert_eq!(
        render_body("$input.json('$.pets[*].type')", PETS),
        r#"["dog","cat"]"#
    );
    assert_eq!(
        render_body("$input.path('$.owner.name')", PETS),
        r#"Ana "A""#
    );
    assert_eq!(render_body("$input.path('$.count')", PETS), "2");
    assert_eq!(
        render_body("$input.path('$.pets[0].price')", PETS),
        "249.99"
    );
    assert_eq!(
        render_body("$input.path('$.owner')", PETS),
        r#"{name=Ana "A", tags=[x, y]}"#
    );
    assert_eq!(render_body("$input.path('$.pets').size()", PETS), "2");
    assert_eq!(render_body("$input.path('$.pets[1]').type", PETS), "cat");
    assert_eq!(
        render_body("#set($p = '$.count')$input.path($p)", PETS),
        "2"
    );
}

#[test]
fn an_empty_body_reads_as_an_empty_object() {
    assert_eq!(render_body("$input.json('$')", ""), "{}");
    assert_eq!(render_body("[$input.path('$.a')]", "  "), "[]");
}

#[test]
fn a_body_that_is_not_json_stops_json_and_path_only() {
    assert_eq!(render_body("$input.body", "<xml/>"), "<xml/>");
    let e = try_render("$input.json('$')", "<xml/>").unwrap_err();
    assert!(matches!(e, RenderError::BodyNotJson { .. }), "{e}");
}

#[test]
fn a_dynamic_json_path_that_does_not_parse_says_where() {
    let e = try_render("\n  #set($p = '$[')$input.path($p)", PETS).unwrap_err();
    assert!(
        matches!(
            e,
            RenderError::InvalidJsonPath {
                line: 2,
                column: 25,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn input_params_by_name_look_in_path_then_query_then_header() {
    assert_eq!(
        render("$input.params('petId') $input.params('limit') $input.params('X-Trace')"),
        "42 10 abc"
    );
    assert_eq!(render("$input.params('shared')"), "from-path");
    assert_eq!(render("[$input.params('missing')]"), "[]");
}

#[test]
fn input_params_maps() {
    assert_eq!(
        render(
            "$input.params().path.petId $input.params().querystring.get('q') $input.params().header.get('Content-Type') $input.params().header.X-Trace"
        ),
        "42 cats & dogs application/json abc"
    );
    assert_eq!(
        render("$input.params().keySet()"),
        "[path, querystring, header]"
    );
}

/// From AWS's example of passing every request parameter to the backend as
/// JSON: nested loops over `$input.params()` and `keySet()`.
#[test]
fn aws_example_all_params_as_json() {
    let t = r#"#set($allParams = $input.params())
{
"params" : {
#foreach($type in $allParams.keySet())
    #set($params = $allParams.get($type))
"$type" : {
    #foreach($paramName in $params.keySet())
    "$paramName" : "$util.escapeJavaScript($params.get($paramName))"
        #if($foreach.hasNext),#end
    #end
}
    #if($foreach.hasNext),#end
#end
}
}"#;
    let out = render(t);
    let parsed: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(parsed["params"]["path"]["petId"], "42");
    assert_eq!(parsed["params"]["querystring"]["q"], "cats & dogs");
    assert_eq!(parsed["params"]["header"]["x-trace"], "abc");
}

/// From AWS's request-mapping walkthrough: reshape a list of pets into the
/// backend's format with `$input.path`, `#foreach` and `$foreach.hasNext`.
#[test]
fn aws_example_reshape_an_array() {
    let t = r#"#set($root = $input.path('$'))
[
#foreach($pet in $root.pets)
  {
    "number": $pet.id,
    "class": "$pet.type",
    "salesPrice": $pet.price
  }#if($foreach.hasNext),#end

#end
]"#;
    let out = render_body(t, PETS);
    let parsed: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(
        parsed,
        json!([
            {"number": 1, "class": "dog", "salesPrice": 249.99},
            {"number": 2, "class": "cat", "salesPrice": 124.5}
        ])
    );
}

/// From AWS's examples of `$input.json` keeping JSON types when a value is
/// passed through, and `$input.path` giving a value to test.
#[test]
fn aws_example_json_pass_through_and_condition() {
    let t = r#"{"owner": $input.json('$.owner'), "many": #if($input.path('$.count') > 1)true#{else}false#end}"#;
    let out = render_body(t, PETS);
    let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        parsed,
        json!({"owner": {"name": "Ana \"A\"", "tags": ["x", "y"]}, "many": true})
    );
}

// ---- $util, $context, $stageVariables ------------------------------------

#[test]
fn util_functions() {
    assert_eq!(
        render("$util.escapeJavaScript(\"it's a \\\"q\\\"/\")"),
        r#"it\'s a \"q\"\/"#
    );
    assert_eq!(render("$util.urlEncode('a b/c')"), "a+b%2Fc");
    assert_eq!(render("$util.urlDecode('a+b%2Fc')"), "a b/c");
    assert_eq!(render("$util.base64Encode('hi there')"), "aGkgdGhlcmU=");
    assert_eq!(render("$util.base64Decode('aGkgdGhlcmU=')"), "hi there");
    assert_eq!(render("[$util.base64Decode('%%%')]"), "[]");
    assert_eq!(
        render("#set($o = $util.parseJson('{\"a\": [1, {\"b\": \"c\"}]}'))$o.a[1].b $o.a.size()"),
        "c 2"
    );
    assert_eq!(
        render("$util.escapeJavaScript($input.params('q'))"),
        "cats & dogs"
    );
}

#[test]
fn util_parse_json_of_bad_text_stops_with_the_place() {
    let e = try_render("x $util.parseJson('{bad')", "").unwrap_err();
    assert!(
        matches!(
            e,
            RenderError::ParseJson {
                line: 1,
                column: 9,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn context_and_stage_variables() {
    assert_eq!(
        render(
            "$context.requestId $context.identity.sourceIp $context.authorizer.claims.sub ${context.stage}"
        ),
        "req-1 192.0.2.1 user-1 prod"
    );
    assert_eq!(
        render("$context.authorizer.claims['cognito:groups'] $context.identity.userAgent.length()"),
        "admin 6"
    );
    assert_eq!(
        render("$stageVariables.env ${stageVariables.host}/x"),
        "beta backend.local/x"
    );
}

#[test]
fn overrides_land_in_overrides_not_output() {
    let t = r#"#set($context.responseOverride.status = 201)
#set($context.responseOverride.header.X-Trace-Id = "t-$context.requestId")
#set($context.requestOverride.header['x-api'] = 'v2')
#set($context.requestOverride.querystring.page = 3)
#set($context.requestOverride.path.petId = 'p9')
#set($context.requestOverride.header.X-API = 'v3')
status=$context.responseOverride.status hdr=$context.responseOverride.header.x-trace-id"#;
    let r = try_render(t, "").unwrap();
    assert_eq!(r.output, "status=201 hdr=t-req-1");
    assert_eq!(
        r.overrides,
        Overrides {
            request_headers: vec![("x-api".into(), "v3".into())],
            request_querystring: vec![("page".into(), "3".into())],
            request_path: vec![("petId".into(), "p9".into())],
            response_status: Some(201),
            response_headers: vec![("X-Trace-Id".into(), "t-req-1".into())],
        }
    );
    let r = try_render("#set($context.responseOverride.status = '404')", "").unwrap();
    assert_eq!(r.overrides.response_status, Some(404));
    assert!(try_render("plain", "").unwrap().overrides.is_empty());
}

#[test]
fn a_status_override_that_is_not_a_status_stops_the_render() {
    for bad in ["99", "600", "'abc'", "-1"] {
        let e = try_render(
            &format!("#set($context.responseOverride.status = {bad})"),
            "",
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                RenderError::InvalidStatusOverride {
                    line: 1,
                    column: 1,
                    ..
                }
            ),
            "{bad}: {e:?}"
        );
    }
}

// ---- bounds --------------------------------------------------------------

#[test]
fn a_huge_range_stops_before_allocating() {
    let start = std::time::Instant::now();
    let e = try_render("#foreach($i in [0..2000000000])x#end", "").unwrap_err();
    assert_eq!(e, RenderError::TooManySteps { limit: 1_000_000 });
    assert!(start.elapsed() < std::time::Duration::from_secs(1));
}

#[test]
fn nested_loops_stop_at_the_step_limit() {
    let t =
        "#foreach($a in [1..1000])#foreach($b in [1..1000])#foreach($c in [1..1000])#end#end#end";
    let e = try_render(t, "").unwrap_err();
    assert!(matches!(e, RenderError::TooManySteps { .. }), "{e}");
}

#[test]
fn doubling_a_string_stops_at_the_size_limit() {
    let t = "#set($s = 'abcdefgh')#foreach($i in [1..100])#set($s = \"$s$s\")#end";
    let e = try_render(t, "").unwrap_err();
    assert_eq!(e, RenderError::OutputTooLarge { limit: 1 << 20 });
    let t = "#set($s = 'abcdefgh')#foreach($i in [1..100])#set($s = $s + $s)#end";
    assert!(matches!(
        try_render(t, "").unwrap_err(),
        RenderError::OutputTooLarge { .. }
    ));
    let t = "#set($s = 'abcdefgh')#foreach($i in [1..100])#set($s = $s.replace('a', $s))#end";
    assert!(matches!(
        try_render(t, "").unwrap_err(),
        RenderError::OutputTooLarge { .. }
    ));
}

#[test]
fn output_is_capped() {
    let limits = Limits {
        max_output_bytes: 100,
        max_steps: 1_000_000,
    };
    let e = try_render_limits("#foreach($i in [1..1000])0123456789#end", "", &limits).unwrap_err();
    assert_eq!(e, RenderError::OutputTooLarge { limit: 100 });
    assert_eq!(
        try_render_limits("#foreach($i in [1..10])0123456789#end", "", &limits)
            .unwrap()
            .output
            .len(),
        100
    );
}

#[test]
fn growing_a_list_of_copies_stops() {
    let t = "#set($l = [1])#foreach($i in [1..64])#set($ok = $l.add($l))#end";
    assert!(matches!(
        try_render(t, "").unwrap_err(),
        RenderError::TooManySteps { .. }
    ));
}

#[test]
fn deep_nesting_is_refused_at_parse_time() {
    let deep_if = "#if(true)".repeat(100) + &"#end".repeat(100);
    assert!(parse_err(&deep_if).reason.contains("nested more than 64"));
    let deep_parens = format!("#set($a = {}1{})", "(".repeat(200), ")".repeat(200));
    assert!(
        parse_err(&deep_parens)
            .reason
            .contains("nested more than 64")
    );
    let deep_lists = format!("#set($a = {}{})", "[".repeat(200), "]".repeat(200));
    assert!(
        parse_err(&deep_lists)
            .reason
            .contains("nested more than 64")
    );
    let deep_not = format!("#set($a = {}true)", "!".repeat(200));
    assert!(parse_err(&deep_not).reason.contains("nested more than 64"));
    let fine = "#if(true)".repeat(30) + "ok" + &"#end".repeat(30);
    assert_eq!(render(&fine), "ok");
}

// ---- parse errors ------------------------------------------------------

#[test]
fn parse_errors_name_the_place_and_what_was_expected() {
    let cases: &[(&str, u32, u32, &str)] = &[
        (
            "ab\n#if($a)x",
            2,
            9,
            "expected #end to close the #if at line 2, column 1, found the end of the template",
        ),
        (
            "#foreach($a in $b)\nx",
            2,
            2,
            "expected #end to close the #foreach at line 1, column 1",
        ),
        ("x\n  #end", 2, 3, "#end without an open #if or #foreach"),
        ("#else", 1, 1, "#else without an open #if"),
        (
            "#if(true)#else#else#end",
            1,
            15,
            "a second #else in the same #if",
        ),
        (
            "#if(true)#else#elseif(true)#end",
            1,
            15,
            "#elseif after #else",
        ),
        ("#if true", 1, 5, "expected '(' after #if, found 't'"),
        ("#if($a", 1, 7, "expected ')' to close the #if condition"),
        ("#set($a 1)", 1, 9, "expected '=' in #set, found '1'"),
        (
            "#set(a = 1)",
            1,
            6,
            "expected a reference such as $name to set",
        ),
        (
            "#set($input = 1)",
            1,
            6,
            "$input is built in and cannot be set",
        ),
        (
            "#set($a.b() = 1)",
            1,
            6,
            "cannot #set a method call's result",
        ),
        (
            "#set($context.stage = 1)",
            1,
            6,
            "only $context.requestOverride",
        ),
        (
            "#set($a = 'x)",
            1,
            11,
            "unterminated string: expected a closing '",
        ),
        (
            "#set($a = \"x)",
            1,
            11,
            "unterminated string: expected a closing \"",
        ),
        ("#set($a = [1, 2)", 1, 16, "expected ',' or ']' in the list"),
        (
            "#set($a = {'a' 1})",
            1,
            16,
            "expected ':' after the map key",
        ),
        ("#set($a = 1 +)", 1, 14, "expected a value"),
        (
            "#foreach($a of $b)#end",
            1,
            13,
            "expected 'in' after the loop variable",
        ),
        (
            "#foreach($foreach in $b)#end",
            1,
            10,
            "$foreach is built in",
        ),
        (
            "a #* never closed",
            1,
            3,
            "unterminated comment: expected '*#'",
        ),
        ("${a.b", 1, 6, "expected '}' to close '${'"),
        ("$a.b(1,", 1, 8, "expected a value"),
        ("#macro(x)#end", 1, 1, "#macro is not supported"),
        ("$input.json('$.a[')", 1, 8, "invalid JSONPath '$.a['"),
        ("$s.matches('(')", 1, 4, "invalid regular expression '('"),
        ("é\n  ééé#end", 2, 6, "#end without an open"),
    ];
    for (src, line, column, reason) in cases {
        let e = parse_err(src);
        assert_eq!((e.line, e.column), (*line, *column), "{src:?}: {e}");
        assert!(e.reason.contains(reason), "{src:?}: {e}");
    }
}

#[test]
fn parsing_is_total_on_arbitrary_input() {
    // Every prefix of a rich template either parses or is refused; none
    // panics or hangs.
    let t = "#set($m = {'a': [1..3], \"b\": \"x$y ${z.w(1, 'q')}\"})#foreach($i in $m.a)#if($i > 1 && !$f)$i#elseif($i)e#{else}n#end#end## c\n#* d *#\\$x";
    for end in 0..=t.len() {
        if t.is_char_boundary(end) {
            let _ = Template::parse(&t[..end]);
        }
    }
}

#[test]
fn changing_a_value_read_from_the_body_leaves_the_body_alone() {
    let t = "#set($o = $input.path('$.owner'))#set($o.name = 'B')#set($ok = $o.tags.add('z'))$o.name $input.json('$.owner.tags') $input.path('$.owner.name')";
    assert_eq!(render_body(t, PETS), r#"B ["x","y"] Ana "A""#);
}

#[test]
fn lines_of_several_directives_leave_nothing() {
    assert_eq!(
        render("#set($a = 1) #set($b = 2)\n$a$b\n#if(true)#set($c = 3)#end  \n$c"),
        "12\n3"
    );
    assert_eq!(render("#set($a = \"x$b\")\n#set($b = 1)\n$b"), "1");
    assert_eq!(render("x$a #set($a = 1)\ny"), "x$a \ny");
}
