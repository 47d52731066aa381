//! The Kubernetes files under `deploy/k8s` as a cluster would take them: each overlay rendered by kustomize
//! and checked against Kubernetes' own schemas (kubernetes-validate, offline), then read for what the
//! schemas cannot know: that every process is probed, given time to drain, budgeted for disruptions and
//! scaled; that each connects as the NATS user the server configuration grants; that the settings each
//! overlay ships load in every process; that the NATS chart's values carry Mneme's accounts as
//! `mneme nats-config` makes them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use mneme_orchestrator::security;
use mneme_protocol::subjects::jetstream as names;
use mneme_protocol::{AgentType, ComponentKind};
use mneme_runtime::settings::{Validate, load_from};

const OVERLAYS: [&str; 2] = ["dev", "prod"];

fn deploy(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy").join(path)
}

fn tools() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools")
}

fn kustomize() -> PathBuf {
    let installed = tools().join("bin/kustomize");
    if installed.exists() { installed } else { PathBuf::from("kustomize") }
}

/// The overlay's manifests, as `kubectl apply -k` would send them.
fn render(overlay: &str) -> String {
    let output = Command::new(kustomize())
        .arg("build")
        .arg(deploy(&format!("k8s/overlays/{overlay}")))
        .output()
        .unwrap_or_else(|error| {
            panic!("cannot run kustomize ({error}): run the README's test command (scripts/test), which installs it")
        });
    assert!(output.status.success(), "kustomize build {overlay}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("YAML is UTF-8")
}

fn resources(overlay: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(&render(overlay)).expect("kustomize writes YAML")
}

fn named<'a>(resources: &'a [Value], kind: &str) -> BTreeMap<String, &'a Value> {
    resources
        .iter()
        .filter(|resource| resource["kind"] == kind)
        .map(|resource| (resource["metadata"]["name"].as_str().unwrap().to_owned(), resource))
        .collect()
}

fn deployment_name(kind: ComponentKind) -> String {
    kind.as_str().replace('_', "-")
}

fn kinds() -> Vec<ComponentKind> {
    AgentType::ALL.iter().map(|agent| ComponentKind::Agent(*agent)).chain([ComponentKind::Orchestrator]).collect()
}

#[test]
fn every_overlay_renders_and_validates_against_the_kubernetes_schemas() {
    let scratch = tempfile::tempdir().unwrap();
    let python_path = std::env::var("PYTHONPATH").map(|path| format!(":{path}")).unwrap_or_default();
    for overlay in OVERLAYS {
        let file = scratch.path().join(format!("{overlay}.yaml"));
        std::fs::write(&file, render(overlay)).unwrap();
        let output = Command::new("python3")
            .args(["-m", "kubernetes_validate", "--strict", "--quiet", "--no-warn"])
            .arg(&file)
            .env("PYTHONPATH", format!("{}{python_path}", tools().join("python").display()))
            .output()
            .expect("python3 runs");
        let report = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(
            !report.contains("No module named kubernetes_validate"),
            "kubernetes-validate is missing: run the README's test command (scripts/test), which installs it"
        );
        assert!(output.status.success(), "{overlay} does not validate:\n{report}");
    }
}

#[test]
fn every_process_is_probed_drained_budgeted_and_scaled() {
    for overlay in OVERLAYS {
        let resources = resources(overlay);
        let deployments = named(&resources, "Deployment");
        let budgets = named(&resources, "PodDisruptionBudget");
        let autoscalers = named(&resources, "HorizontalPodAutoscaler");
        let scaled_objects = named(&resources, "ScaledObject");
        for kind in kinds() {
            let name = deployment_name(kind);
            let deployment = deployments.get(&name).unwrap_or_else(|| panic!("{overlay}: no Deployment {name}"));
            let pod = &deployment["spec"]["template"]["spec"];
            let container = &pod["containers"][0];
            assert_eq!(container["command"][0], format!("mneme-{name}"), "{overlay}/{name}");
            assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{overlay}/{name}");
            assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true, "{overlay}/{name}");
            assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz", "{overlay}/{name}");
            assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz", "{overlay}/{name}");
            assert_eq!(container["ports"][0]["containerPort"], 9090, "{overlay}/{name}");
            assert!(container["resources"]["requests"]["cpu"].is_string(), "{overlay}/{name} requests CPU");
            assert!(container["resources"]["limits"]["memory"].is_string(), "{overlay}/{name} is limited");

            // The pod's grace covers the pause before SIGTERM and the runtime's own grace for in-flight work.
            let pause: u64 = container["lifecycle"]["preStop"]["exec"]["command"][1].as_str().unwrap().parse().unwrap();
            let grace = pod["terminationGracePeriodSeconds"].as_u64().expect("a grace period");
            let settings = process_settings(overlay);
            let drain = settings.service.shutdown_grace_ms.div_ceil(1000);
            assert!(grace >= pause + drain + 5, "{overlay}/{name}: {grace} s < {pause} s + {drain} s + 5 s");

            let budget = budgets.get(&name).unwrap_or_else(|| panic!("{overlay}: no PodDisruptionBudget {name}"));
            assert_eq!(budget["spec"]["selector"]["matchLabels"], deployment["spec"]["selector"]["matchLabels"]);
            match kind {
                ComponentKind::Agent(_) => {
                    let autoscaler = autoscalers.get(&name).unwrap_or_else(|| panic!("{overlay}: no HPA {name}"));
                    assert_eq!(autoscaler["spec"]["scaleTargetRef"]["name"], name.as_str());
                    assert_eq!(autoscaler["spec"]["metrics"][0]["resource"]["name"], "cpu");
                }
                ComponentKind::Orchestrator => assert!(!autoscalers.contains_key(&name), "KEDA scales it in prod"),
            }
        }
        // The ingest queue's workers follow its backlog where KEDA is (prod).
        if overlay == "prod" {
            let scaled = scaled_objects.get("orchestrator").expect("a ScaledObject for the orchestrator");
            assert_eq!(scaled["spec"]["scaleTargetRef"]["name"], "orchestrator");
            let trigger = &scaled["spec"]["triggers"][0];
            assert_eq!(trigger["type"], "nats-jetstream");
            assert_eq!(trigger["metadata"]["account"], security::SYSTEM_ACCOUNT);
            assert_eq!(trigger["metadata"]["stream"], names::INGEST_STREAM);
            assert_eq!(trigger["metadata"]["consumer"], names::INGEST_CONSUMER);
            assert!(trigger["metadata"]["natsServerMonitoringEndpoint"].as_str().unwrap().ends_with(":8222"));
        } else {
            assert!(scaled_objects.is_empty(), "dev needs no KEDA");
        }
        let policies = named(&resources, "NetworkPolicy");
        assert!(policies.contains_key("mneme") && policies.contains_key("nats"), "{overlay}: {policies:?}");
    }
}

/// The orchestrator's settings as the overlay's ConfigMap gives them (the runtime sections are everyone's).
fn process_settings(overlay: &str) -> mneme_runtime::RuntimeSettings {
    load_from::<mneme_orchestrator::settings::Settings>(Some(&settings_file(overlay)), std::iter::empty())
        .expect("the overlay's settings load")
        .runtime
}

fn settings_file(overlay: &str) -> PathBuf {
    let own = deploy(&format!("k8s/overlays/{overlay}/mneme.toml"));
    if own.exists() { own } else { deploy("k8s/base/mneme.toml") }
}

fn loads<S: Default + serde::Serialize + serde::de::DeserializeOwned + Validate>(file: &Path) {
    if let Err(error) = load_from::<S>(Some(file), std::iter::empty()) {
        panic!("{} does not load as {}: {error}", file.display(), std::any::type_name::<S>());
    }
}

#[test]
fn the_settings_each_overlay_ships_load_in_every_process() {
    for overlay in OVERLAYS {
        let file = settings_file(overlay);
        loads::<mneme_orchestrator::settings::Settings>(&file);
        loads::<mneme_memory_harvester::Settings>(&file);
        loads::<mneme_privacy_guardian::Settings>(&file);
        loads::<mneme_pattern_analyzer::Settings>(&file);
        loads::<mneme_relationship_mapper::Settings>(&file);
        loads::<mneme_avatar_trainer::Settings>(&file);
        loads::<mneme_insight_generator::Settings>(&file);
    }
    let prod = process_settings("prod");
    assert!(prod.nats.require_tls && prod.nats.tls_ca_file.is_some(), "prod talks to NATS over TLS");
}

#[test]
fn each_process_connects_as_the_nats_user_its_permissions_are_made_for() {
    let server_config = std::fs::read_to_string(deploy("nats/auth.conf")).unwrap();
    for overlay in OVERLAYS {
        let resources = resources(overlay);
        let deployments = named(&resources, "Deployment");
        for kind in kinds() {
            let container = &deployments[&deployment_name(kind)]["spec"]["template"]["spec"]["containers"][0];
            let environment: BTreeMap<&str, &Value> = container["env"]
                .as_array()
                .unwrap()
                .iter()
                .map(|variable| (variable["name"].as_str().unwrap(), variable))
                .collect();
            let user = security::user_of(kind);
            assert_eq!(environment["MNEME__NATS__USER"]["value"], user);
            assert_eq!(environment["MNEME__NATS__INBOX_PREFIX"]["value"], security::inbox_prefix(user));
            let password = &environment["MNEME__NATS__PASSWORD"]["valueFrom"]["secretKeyRef"];
            assert_eq!(password["name"], "mneme-nats-credentials");
            assert_eq!(password["key"], user);
            assert!(server_config.contains(&format!("user: \"{user}\"")), "{user} has no NATS user");
        }
        let secrets = named(&resources, "Secret");
        if overlay == "dev" {
            let credentials = secrets.get("mneme-nats-credentials").expect("dev makes its own credentials");
            let keys: BTreeSet<&str> = credentials["data"].as_object().unwrap().keys().map(String::as_str).collect();
            let users: BTreeSet<&str> =
                kinds().into_iter().map(security::user_of).chain([security::ADMIN_USER]).collect();
            assert_eq!(keys, users);
        } else {
            assert!(secrets.is_empty(), "prod keeps no secret in the repository");
        }
    }
}

#[test]
fn the_nats_chart_values_carry_mnemes_accounts() {
    let auth = std::fs::read_to_string(deploy("k8s/nats/auth-values.yaml")).unwrap();
    assert_eq!(auth, security::helm_values(&[]).unwrap(), "auth-values.yaml is `mneme nats-config --format helm`'s");
    let auth: Value = serde_saphyr::from_str(&auth).unwrap();
    let accounts = &auth["config"]["merge"]["accounts"];
    assert_eq!(accounts[security::SYSTEM_ACCOUNT]["jetstream"], "enabled");

    let values: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(deploy("k8s/nats/values.yaml")).unwrap()).unwrap();
    assert_eq!(values["config"]["jetstream"]["enabled"], true);
    assert_eq!(values["config"]["monitor"]["enabled"], true, "KEDA reads the backlog on the monitoring port");
    for user in kinds().into_iter().map(security::user_of).chain([security::ADMIN_USER]) {
        let variable = &values["container"]["env"][security::password_variable(user)];
        assert_eq!(variable["valueFrom"]["secretKeyRef"]["key"], user, "the server reads {user}'s password");
    }
    let prod: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(deploy("k8s/nats/values-prod.yaml")).unwrap()).unwrap();
    assert_eq!(prod["config"]["cluster"]["enabled"], true);
    assert_eq!(prod["config"]["cluster"]["replicas"], 3);
    assert_eq!(prod["config"]["nats"]["tls"]["enabled"], true);
}
