//! deploy/kubernetes against spin-operator's SpinApp CRD and spin.toml, plus broken copies showing each check can fail.

use deploy_manifests::checks::{self, Role};
use deploy_manifests::crd::SpinAppSchema;
use deploy_manifests::spin::SpinManifest;
use deploy_manifests::{crd_path, load_docs, manifest_dir, repo_root, yaml_files, Doc};
use serde_json::{json, Value};

const WEB: &str = "beds24-sync-web";
const WORKER: &str = "beds24-sync-worker";

struct Fixture {
    docs: Vec<Doc>,
    spin: SpinManifest,
}

impl Fixture {
    fn load() -> Self {
        Self {
            docs: load_docs(),
            spin: SpinManifest::load(&repo_root().join("spin.toml")),
        }
    }

    fn spinapps(&self) -> Vec<&Doc> {
        self.docs.iter().filter(|d| d.kind() == "SpinApp").collect()
    }

    fn one(&self, kind: &str, name: &str) -> &Doc {
        let found: Vec<&Doc> = self
            .docs
            .iter()
            .filter(|d| d.kind() == kind && d.name() == name)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "expected one {kind}/{name} in deploy/kubernetes"
        );
        found[0]
    }

    fn app(&self, name: &str) -> Value {
        self.one("SpinApp", name).value.clone()
    }
}

/// Runs `check` on every SpinApp and fails listing each one's problems.
fn assert_every_spinapp(fx: &Fixture, check: impl Fn(&Value, &SpinManifest) -> Vec<String>) {
    let problems: Vec<String> = fx
        .spinapps()
        .iter()
        .flat_map(|app| {
            let label = app.label();
            check(&app.value, &fx.spin)
                .into_iter()
                .map(move |p| format!("{label}: {p}"))
        })
        .collect();
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

fn assert_fails(problems: Vec<String>, expected: &str) {
    assert!(
        problems.iter().any(|p| p.contains(expected)),
        "expected a problem containing {expected:?}, got {problems:?}"
    );
}

#[test]
fn spinapps_match_the_crd_schema() {
    let fx = Fixture::load();
    let schema = SpinAppSchema::load(&crd_path());
    let names: Vec<&str> = fx.spinapps().iter().map(|d| d.name()).collect();
    assert_eq!(names, [WEB, WORKER], "the SpinApps, in file order");
    let errors: Vec<String> = fx
        .spinapps()
        .iter()
        .flat_map(|app| {
            schema
                .errors(&app.value)
                .into_iter()
                .map(|e| format!("{}: {e}", app.label()))
        })
        .collect();
    assert!(
        errors.is_empty(),
        "SpinApps violate the CRD:\n{}",
        errors.join("\n")
    );
}

#[test]
fn spinapps_retain_spin_toml_components_without_mixing_triggers() {
    assert_every_spinapp(&Fixture::load(), checks::components);
}

#[test]
fn web_retains_only_http_components_and_worker_none() {
    let fx = Fixture::load();
    let web = checks::role(&fx.app(WEB), &fx.spin, Role::Http);
    let worker = checks::role(&fx.app(WORKER), &fx.spin, Role::NonHttp);
    assert!(
        web.is_empty() && worker.is_empty(),
        "web: {web:?}\nworker: {worker:?}"
    );
}

#[test]
fn every_triggered_component_runs_in_exactly_one_spinapp() {
    let fx = Fixture::load();
    let retained: Vec<String> = fx
        .spinapps()
        .iter()
        .flat_map(|app| deploy_manifests::strings(&app.value["spec"]["components"]))
        .collect();
    for (name, component) in &fx.spin.components {
        let triggered = !component.http_routes.is_empty() || !component.redis_channels.is_empty();
        let count = retained.iter().filter(|r| *r == name).count();
        assert_eq!(
            count,
            usize::from(triggered),
            "component {name} runs in {count} SpinApps"
        );
    }
}

#[test]
fn probes_ask_routes_of_the_spinapps_own_components() {
    let fx = Fixture::load();
    assert_every_spinapp(&fx, checks::probes);
    // The web pods must be probed at all (the worker's absence of probes is checked above).
    let web = fx.app(WEB);
    for probe in ["readiness", "liveness"] {
        assert!(
            web["spec"]["checks"][probe]["httpGet"]["path"].is_string(),
            "web has no {probe} probe"
        );
    }
}

#[test]
fn variables_are_spin_variables_covering_what_the_components_need() {
    assert_every_spinapp(&Fixture::load(), checks::variables);
}

#[test]
fn key_value_stores_are_declared_and_shared() {
    assert_every_spinapp(&Fixture::load(), checks::key_value_stores);
}

#[test]
fn secret_key_refs_exist_in_the_secret_template() {
    let fx = Fixture::load();
    let secret = fx.one("Secret", "beds24-sync");
    assert_eq!(secret.file, "secret.example.yaml");
    let problems = checks::secret_refs(&fx.docs, secret);
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn tick_cronjob_posts_to_the_admin_tick_route() {
    let fx = Fixture::load();
    let cronjob = fx.one("CronJob", "beds24-sync-tick");
    let problems = checks::tick(&cronjob.value, &fx.spinapps(), &fx.spin);
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn kustomization_lists_every_manifest_but_the_secret_template() {
    let fx = Fixture::load();
    let kustomization = fx.one("Kustomization", "");
    let files: Vec<String> = yaml_files(&manifest_dir())
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let problems = checks::kustomization(&kustomization.value, &files);
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

// ---------------------------------------------------------------- broken copies

/// The web SpinApp with `edit` applied.
fn broken_web(fx: &Fixture, edit: impl FnOnce(&mut Value)) -> Value {
    let mut app = fx.app(WEB);
    edit(&mut app);
    app
}

/// Probe headers are fixed strings (no valueFrom): why readiness cannot carry the token.
fn header_from_secret(app: &mut Value) {
    let header =
        json!({"name": "Authorization", "valueFrom": {"secretKeyRef": {"key": "admin_token"}}});
    app["spec"]["checks"]["readiness"]["httpGet"]["httpHeaders"] = json!([header]);
}

/// What is broken, how, and what the error must mention.
type BrokenCopy = (&'static str, fn(&mut Value), &'static str);

#[test]
fn schema_rejects_broken_spinapps() {
    let fx = Fixture::load();
    let schema = SpinAppSchema::load(&crd_path());
    let cases: [BrokenCopy; 6] = [
        (
            "replicas as a string",
            |a| a["spec"]["replicas"] = json!("2"),
            "/spec/replicas",
        ),
        (
            "misspelt field",
            |a| a["spec"]["replica"] = json!(2),
            "'replica'",
        ),
        (
            "no image",
            |a| drop(a["spec"].as_object_mut().unwrap().remove("image")),
            "image",
        ),
        (
            "empty components",
            |a| a["spec"]["components"] = json!([]),
            "/spec/components",
        ),
        (
            "probe header from a secret",
            header_from_secret,
            "/spec/checks/readiness/httpGet/httpHeaders/0",
        ),
        (
            "wrong apiVersion",
            |a| a["apiVersion"] = json!("core.spinkube.dev/v1"),
            "apiVersion",
        ),
    ];
    for (what, edit, expected) in cases {
        let errors = schema.errors(&broken_web(&fx, edit));
        assert!(
            errors.iter().any(|e| e.contains(expected)),
            "{what}: expected an error mentioning {expected:?}, got {errors:?}"
        );
    }
    assert!(
        schema.errors(&fx.app(WEB)).is_empty(),
        "the unedited copy is valid"
    );
}

#[test]
fn checks_reject_broken_spinapps() {
    let fx = Fixture::load();
    let spin = &fx.spin;
    let with = |edit: fn(&mut Value)| broken_web(&fx, edit);

    let unknown = with(|a| a["spec"]["components"] = json!(["webhook", "admn"]));
    assert_fails(checks::components(&unknown, spin), "component admn is not");
    let everything = with(|a| drop(a["spec"].as_object_mut().unwrap().remove("components")));
    assert_fails(
        checks::components(&everything, spin),
        "every component would run",
    );
    let mixed = with(|a| a["spec"]["components"] = json!(["webhook", "admin", "worker"]));
    assert_fails(checks::components(&mixed, spin), "HTTP and Redis triggers");
    assert_fails(
        checks::role(&mixed, spin, Role::Http),
        "worker is not HTTP-only",
    );
    assert_fails(
        checks::role(&fx.app(WEB), spin, Role::NonHttp),
        "has HTTP routes",
    );

    let webhook_only = with(|a| a["spec"]["components"] = json!(["webhook"]));
    assert_fails(checks::probes(&webhook_only, spin), "no route of");
    let probed_worker = {
        let mut app = fx.app(WORKER);
        app["spec"]["checks"] = json!({"liveness": {"httpGet": {"path": "/api/health"}}});
        app
    };
    assert_fails(checks::probes(&probed_worker, spin), "serves no HTTP");

    let typo = with(|a| a["spec"]["variables"][0]["name"] = json!("redis_uri"));
    assert_fails(
        checks::variables(&typo, spin),
        "redis_uri is not in spin.toml",
    );
    assert_fails(checks::variables(&typo, spin), "redis_url is used by");
    let foreign = with(|a| {
        a["spec"]["variables"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "batch_size", "value": "10"}))
    });
    assert_fails(
        checks::variables(&foreign, spin),
        "batch_size is not used by",
    );

    // Stores on a made-up manifest: spin.toml itself may use none.
    let kv = SpinManifest::parse(
        "[component.webhook]\nkey_value_stores = [\"default\"]\n\
         [[trigger.http]]\nroute = \"/...\"\ncomponent = \"webhook\"\n",
    )
    .unwrap();
    let with_store = |kind: &str| {
        let store = json!({"name": "default", "type": kind, "options": []});
        json!({"spec": {"components": ["webhook"], "runtimeConfig": {"keyValueStores": [store]}}})
    };
    let undeclared = json!({"spec": {"components": ["webhook"]}});
    assert_fails(
        checks::key_value_stores(&undeclared, &kv),
        "default is used but not declared",
    );
    assert_fails(
        checks::key_value_stores(&with_store("spin"), &kv),
        "must share it",
    );
    let shared = with_store("redis");
    assert!(checks::key_value_stores(&shared, &kv).is_empty());
    let no_kv = SpinManifest::parse("[component.webhook]\n").unwrap();
    assert_fails(
        checks::key_value_stores(&shared, &no_kv),
        "no component uses it",
    );
}

#[test]
fn cross_file_checks_reject_broken_copies() {
    let fx = Fixture::load();
    let mut docs = fx.docs.clone();
    let web = docs.iter_mut().find(|d| d.name() == WEB).unwrap();
    web.value["spec"]["variables"][0]["valueFrom"]["secretKeyRef"]["key"] = json!("redis_uri");
    let secret = fx.one("Secret", "beds24-sync");
    assert_fails(
        checks::secret_refs(&docs, secret),
        "key redis_uri is not in",
    );

    let mut cronjob = fx.one("CronJob", "beds24-sync-tick").value.clone();
    let args =
        &mut cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"];
    let url = args.as_array_mut().unwrap().last_mut().unwrap();
    *url = json!("http://beds24-sync-worker/api/admin/tick");
    assert_fails(
        checks::tick(&cronjob, &fx.spinapps(), &fx.spin),
        "no component of",
    );
    cronjob["spec"]["concurrencyPolicy"] = json!("Allow");
    assert_fails(checks::tick(&cronjob, &fx.spinapps(), &fx.spin), "Forbid");

    let files = [
        "kustomization.yaml",
        "web.yaml",
        "worker.yaml",
        "tick-cronjob.yaml",
    ]
    .map(String::from);
    let listed = json!({"resources": ["web.yaml", "secret.example.yaml"]});
    let problems = checks::kustomization(&listed, &files);
    assert_fails(problems.clone(), "the secret template is applied");
    assert_fails(problems, "worker.yaml is not in resources");
}
