//! The Azure infrastructure under `infra/` stays deployable as far as can be checked offline: every
//! `.bicep` and `.bicepparam` file parses without error nodes (tree-sitter-bicep), every module,
//! `using` and `load*Content` path it names exists, and a parameters file sets only parameters its
//! template declares, and all the required ones. Kubernetes manifests are checked by
//! `infra/validate.sh`; this module does not touch them.

use std::path::{Path, PathBuf};
use tree_sitter::{Node, Parser, Tree};

fn infra_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("infra")
}

/// Every file under `dir` whose name ends in one of `extensions`, sorted.
fn files_under(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| extensions.contains(&e))
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// tree-sitter-bicep knows `using` but has no rule for a parameters file's `param name = value`, so
/// such a line is parsed as `var name = value` (same expression grammar; columns kept).
fn as_bicep(file: &Path, source: &str) -> String {
    if file.extension().is_none_or(|e| e != "bicepparam") {
        return source.to_owned();
    }
    source
        .lines()
        .map(|line| match line.strip_prefix("param ") {
            Some(rest) if assigned_name(rest).is_some() => format!("var   {rest}"),
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `name` in `name = value`.
fn assigned_name(rest: &str) -> Option<&str> {
    let (name, _) = rest.split_once('=')?;
    let name = name.trim();
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(name)
}

fn parse(source: &str) -> Tree {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_bicep::LANGUAGE.into())
        .expect("the Bicep grammar loads");
    parser
        .parse(source, None)
        .expect("the parser returns a tree")
}

fn walk<'t>(node: Node<'t>, visit: &mut impl FnMut(Node<'t>)) {
    visit(node);
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        walk(child, visit);
    }
}

/// `line:column: what` for each ERROR or MISSING node.
fn syntax_errors(tree: &Tree, source: &str) -> Vec<String> {
    let mut errors = Vec::new();
    walk(tree.root_node(), &mut |node| {
        if node.is_error() || node.is_missing() {
            let at = node.start_position();
            let text: String = source[node.byte_range()].chars().take(60).collect();
            let what = if node.is_missing() {
                format!("missing {}", node.kind())
            } else {
                format!("unexpected `{text}`")
            };
            errors.push(format!("{}:{}: {what}", at.row + 1, at.column + 1));
        }
    });
    errors
}

/// The literal text of a single-quoted Bicep string node, or None if it interpolates.
fn literal(node: Node<'_>, source: &str) -> Option<String> {
    let text = &source[node.byte_range()];
    let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
    (!inner.contains("${")).then(|| inner.to_owned())
}

/// Relative file paths the file refers to: module sources, `using` targets and `load*Content`
/// arguments. Registry (`br:`, `br/`) and template-spec (`ts:`) references are not files.
fn referenced_paths(tree: &Tree, source: &str) -> Vec<(String, &'static str)> {
    let mut paths = Vec::new();
    walk(tree.root_node(), &mut |node| {
        let (string, what) = match node.kind() {
            "module_declaration" => (node.named_child(1), "module"),
            "using_statement" => (node.named_child(0), "using"),
            "call_expression" => {
                let function = node.child_by_field_name("function");
                let is_load = function
                    .map(|f| &source[f.byte_range()])
                    .is_some_and(|name| name.starts_with("load") && name.ends_with("Content"));
                let first_argument = node
                    .child_by_field_name("arguments")
                    .and_then(|a| a.named_child(0));
                (first_argument.filter(|_| is_load), "load")
            }
            _ => (None, ""),
        };
        if let Some(path) = string
            .filter(|s| s.kind() == "string")
            .and_then(|s| literal(s, source))
        {
            if !["br:", "br/", "ts:", "ts/"]
                .iter()
                .any(|scheme| path.starts_with(scheme))
            {
                paths.push((path, what));
            }
        }
    });
    paths
}

#[test]
fn every_bicep_file_parses_without_error_nodes() {
    let files = files_under(&infra_dir(), &["bicep", "bicepparam"]);
    assert!(
        files.iter().any(|f| f.ends_with("main.bicep")),
        "infra/main.bicep exists: {files:?}"
    );
    let mut failures = Vec::new();
    for file in &files {
        let source = as_bicep(
            file,
            &std::fs::read_to_string(file).expect("readable Bicep file"),
        );
        for error in syntax_errors(&parse(&source), &source) {
            failures.push(format!("{}:{error}", file.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "syntax errors:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_module_using_and_loaded_path_exists() {
    let mut checked = 0;
    let mut missing = Vec::new();
    for file in files_under(&infra_dir(), &["bicep", "bicepparam"]) {
        let source = as_bicep(
            &file,
            &std::fs::read_to_string(&file).expect("readable Bicep file"),
        );
        let dir = file.parent().expect("a file has a directory");
        for (path, what) in referenced_paths(&parse(&source), &source) {
            checked += 1;
            if !dir.join(&path).is_file() {
                missing.push(format!("{}: {what} '{path}'", file.display()));
            }
        }
    }
    assert!(
        checked >= 10,
        "found only {checked} references: is the walk broken?"
    );
    assert!(missing.is_empty(), "missing files:\n{}", missing.join("\n"));
}

#[test]
fn every_module_file_is_used_by_main() {
    let main = infra_dir().join("main.bicep");
    let source = std::fs::read_to_string(&main).expect("infra/main.bicep");
    let used: Vec<PathBuf> = referenced_paths(&parse(&source), &source)
        .into_iter()
        .filter(|(_, what)| *what == "module")
        .map(|(path, _)| infra_dir().join(path))
        .collect();
    let orphans: Vec<_> = files_under(&infra_dir().join("modules"), &["bicep"])
        .into_iter()
        .filter(|module| !used.contains(module))
        .collect();
    assert!(
        orphans.is_empty(),
        "modules main.bicep never deploys: {orphans:?}"
    );
}

/// Parameters a template declares, each with whether it has a default.
fn declared_parameters(source: &str) -> Vec<(String, bool)> {
    let tree = parse(source);
    let mut declared = Vec::new();
    walk(tree.root_node(), &mut |node| {
        if node.kind() == "parameter_declaration" {
            let name = node
                .named_child(0)
                .map(|n| source[n.byte_range()].to_owned());
            let mut cursor = node.walk();
            let has_default = node.children(&mut cursor).any(|c| c.kind() == "=");
            declared.extend(name.map(|n| (n, has_default)));
        }
    });
    declared
}

#[test]
fn parameter_files_set_declared_parameters_and_every_required_one() {
    let mut problems = Vec::new();
    for file in files_under(&infra_dir(), &["bicepparam"]) {
        let source = std::fs::read_to_string(&file).expect("readable parameters file");
        let template = source
            .lines()
            .find_map(|l| l.trim().strip_prefix("using '")?.strip_suffix('\''))
            .unwrap_or_else(|| panic!("{}: no `using '<template>'`", file.display()));
        let dir = file.parent().expect("a file has a directory");
        let template_source = std::fs::read_to_string(dir.join(template)).expect("the template");
        let declared = declared_parameters(&template_source);
        let assigned: Vec<&str> = source
            .lines()
            .filter_map(|l| assigned_name(l.strip_prefix("param ")?))
            .collect();
        for name in &assigned {
            if !declared.iter().any(|(d, _)| d == name) {
                problems.push(format!("{}: sets undeclared `{name}`", file.display()));
            }
        }
        for (name, has_default) in &declared {
            if !has_default && !assigned.contains(&name.as_str()) {
                problems.push(format!("{}: required `{name}` not set", file.display()));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_checks_catch_a_broken_file_and_a_missing_module() {
    let broken = "resource sa 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: 'x'\n";
    assert!(!syntax_errors(&parse(broken), broken).is_empty());

    let unclosed_string = "param p string = 'open\n";
    assert!(!syntax_errors(&parse(unclosed_string), unclosed_string).is_empty());

    let fine =
        "module m 'modules/nowhere.bicep' = {\n  name: 'm'\n}\nvar x = loadTextContent('a.xml')\n";
    assert!(syntax_errors(&parse(fine), fine).is_empty());
    let params = as_bicep(
        Path::new("x.bicepparam"),
        "using 'main.bicep'\nparam p = {\n  a: 1\n}\n",
    );
    assert!(
        syntax_errors(&parse(&params), &params).is_empty(),
        "{params}"
    );
    let bad_params = as_bicep(
        Path::new("x.bicepparam"),
        "using 'main.bicep'\nparam p = [\n",
    );
    assert!(!syntax_errors(&parse(&bad_params), &bad_params).is_empty());
    assert_eq!(
        declared_parameters("param a string\n@secure()\nparam b string = ''\n"),
        vec![("a".to_owned(), false), ("b".to_owned(), true)]
    );

    let paths = referenced_paths(&parse(fine), fine);
    assert_eq!(
        paths,
        vec![
            ("modules/nowhere.bicep".to_owned(), "module"),
            ("a.xml".to_owned(), "load")
        ]
    );
}
