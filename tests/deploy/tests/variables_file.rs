//! deploy/variables.example.toml: exactly spin.toml's variables, each with the manifest's default.

use deploy_manifests::repo_root;
use deploy_manifests::spin::SpinManifest;

#[test]
fn the_variables_file_lists_every_variable_of_spin_toml_with_its_default() {
    let manifest = SpinManifest::load(&repo_root().join("spin.toml"));
    let path = repo_root().join("deploy/variables.example.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let file: toml::Table = toml::from_str(&text).unwrap();
    let mut problems = Vec::new();
    for (name, variable) in &manifest.variables {
        match (
            file.get(name).and_then(toml::Value::as_str),
            &variable.default,
        ) {
            (None, _) => problems.push(format!("{name} is missing")),
            (Some(value), Some(default)) if value != default => problems.push(format!(
                "{name} = {value:?}, spin.toml's default is {default:?}"
            )),
            _ => {}
        }
    }
    for name in file.keys() {
        if !manifest.variables.contains_key(name) {
            problems.push(format!("{name} is not a variable of spin.toml"));
        }
    }
    assert!(problems.is_empty(), "{}: {problems:#?}", path.display());
}
