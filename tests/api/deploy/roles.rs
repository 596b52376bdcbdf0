//! Every role definition id in the Bicep is one of Azure's built-in roles (or, inside a Cosmos DB
//! `sqlRoleDefinitions` path, one of Cosmos DB's built-in data-plane roles), from the list vendored
//! in `tests/fixtures/azure/built-in-roles.tsv`; a role named in a comment beside it is that role. A
//! typo in an id fails the whole Bicep deployment at the role assignment, so it fails here first.

use super::{read, root, tsv};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `(scope, id) -> name` from the vendored list; scope is `azure` or `cosmos`.
fn built_in_roles() -> BTreeMap<(String, String), String> {
    tsv("built-in-roles.tsv")
        .into_iter()
        .map(|row| match row.as_slice() {
            [scope, id, name] => ((scope.clone(), id.to_lowercase()), name.clone()),
            _ => panic!("built-in-roles.tsv: bad row {row:?}"),
        })
        .collect()
}

fn bicep_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("infra/main.bicep")];
    let modules = std::fs::read_dir(root().join("infra/modules")).expect("infra/modules");
    files.extend(
        modules
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "bicep")),
    );
    files.sort();
    files
}

/// Every GUID literal (`'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx'`) in `line`.
fn guids(line: &str) -> Vec<String> {
    let bytes = line.as_bytes();
    let mut found = Vec::new();
    for start in 0..bytes.len() {
        let Some(candidate) = line.get(start..start + 36) else {
            break;
        };
        let shape = candidate.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
        let bounded = (start == 0 || !bytes[start - 1].is_ascii_alphanumeric())
            && bytes
                .get(start + 36)
                .is_none_or(|b| !b.is_ascii_alphanumeric());
        if shape && bounded {
            found.push(candidate.to_lowercase());
        }
    }
    found
}

#[test]
fn every_role_definition_id_in_the_bicep_is_a_built_in_role_and_named_rightly() {
    let roles = built_in_roles();
    let mut checked = Vec::new();
    let mut wrong = Vec::new();
    for file in bicep_files() {
        let source = read(&file);
        let name = file
            .strip_prefix(root())
            .unwrap_or(&file)
            .display()
            .to_string();
        // Cosmos DB data-plane roles are referenced as `<account>/sqlRoleDefinitions/<id>`.
        let scope = if source.contains("sqlRoleDefinitions/") {
            "cosmos"
        } else {
            "azure"
        };
        for (n, line) in source.lines().enumerate() {
            for id in guids(line) {
                let role = roles
                    .get(&(scope.to_owned(), id.clone()))
                    .or_else(|| roles.get(&("azure".to_owned(), id.clone())));
                match role {
                    None => wrong.push(format!(
                        "{name}:{}: {id} is no built-in role (see tests/fixtures/azure/built-in-roles.tsv)",
                        n + 1
                    )),
                    Some(role) => {
                        let comment = line.split_once("//").map(|(_, c)| c.trim());
                        if comment.is_some_and(|c| !c.is_empty() && c != role) {
                            wrong.push(format!(
                                "{name}:{}: {id} is {role}, not {:?}",
                                n + 1,
                                comment.unwrap_or_default()
                            ));
                        }
                        checked.push(format!("{name}:{}: {id} = {role}", n + 1));
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The AcrPull assignment (AKS pulls its images) and the Event Hubs data roles are among them.
    for role in [
        "AcrPull",
        "Network Contributor",
        "Azure Event Hubs Data Sender",
    ] {
        assert!(
            checked.iter().any(|c| c.ends_with(&format!("= {role}"))),
            "{role} is assigned: {checked:#?}"
        );
    }
    println!("{}", checked.join("\n"));
}

#[test]
fn guids_are_found_only_whole() {
    assert_eq!(
        guids("var a = '7f951dda-4ed3-4680-a7ca-43fe172d538d' // AcrPull"),
        ["7f951dda-4ed3-4680-a7ca-43fe172d538d"]
    );
    assert!(guids("x7f951dda-4ed3-4680-a7ca-43fe172d538d0").is_empty());
    assert!(guids("'not-a-guid'").is_empty());
}
