"""Validate rendered Kubernetes manifests (what `kubectl kustomize` prints) for Tributary.

Built-in kinds are checked strictly (unknown fields fail) against the Kubernetes OpenAPI schemas that
the kubernetes-validate package ships; KEDA and Istio kinds against the schemas vendored in
infra/k8s/schemas/ (plus the CEL rules of their CRDs that matter here). A kind with no schema fails.
Then cross-references: every name a manifest points at exists, and the values that must agree with
the function app (lease prefix, consumer group, topic) do.

Usage: python validate.py --kubernetes-version 1.33 --functions-dir ../../functions rendered.yaml...
"""

import argparse
import json
import pathlib
import sys

import jsonschema
import kubernetes_validate.utils as kv
import yaml

SCHEMAS = pathlib.Path(__file__).parent / "schemas"
CUSTOM_KINDS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject-keda-v1alpha1.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "triggerauthentication-keda-v1alpha1.json",
    ("security.istio.io/v1", "PeerAuthentication"): "peerauthentication-security-v1.json",
    ("networking.istio.io/v1", "Gateway"): "gateway-networking-v1.json",
    ("networking.istio.io/v1", "VirtualService"): "virtualservice-networking-v1.json",
}
# Created by infra/deploy.sh from Azure, never rendered from git.
EXTERNAL_SECRETS = {"tributary-kafka", "tributary-function-keys"}
PIPELINE_ROLES = {"ingest", "query", "analyze", "process"}


def custom_rules(doc):
    """The CRDs' x-kubernetes-validations that a JSON-schema validator does not run."""
    spec = doc.get("spec", {})
    if doc["kind"] == "ScaledObject":
        low, high = spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100)
        if low > high:
            yield "minReplicaCount must be less than or equal to maxReplicaCount"
    if doc["kind"] == "PeerAuthentication" and "portLevelMtls" in spec:
        if not spec.get("selector", {}).get("matchLabels"):
            yield "portLevelMtls requires selector"


def schema_errors(doc, version):
    key = (doc.get("apiVersion"), doc.get("kind"))
    if key in CUSTOM_KINDS:
        schema = json.loads((SCHEMAS / CUSTOM_KINDS[key]).read_text())
        validator = jsonschema.Draft202012Validator(schema)
        for error in validator.iter_errors(doc):
            yield f"{'.'.join(map(str, error.path))}: {error.message}"
        yield from custom_rules(doc)
        return
    try:
        kv.validate(doc, version, strict=True)
    except kv.ValidationError as error:
        yield f"{'.'.join(map(str, error.path))}: {error.message}"
    except kv.SchemaNotFoundError:
        yield f"no schema for {key[0]} {key[1]}: vendor one in infra/k8s/schemas/"


def pod_spec(doc):
    if doc["kind"] in ("Deployment", "Job"):
        return doc["spec"]["template"]["spec"]
    return None


def reference_errors(docs, functions_dir):
    """Names that must exist, and values that must agree with the function app."""
    names = {}
    for doc in docs:
        names.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    configmaps = names.get("ConfigMap", {})
    deployments = names.get("Deployment", {})

    def labels_match(selector, labels):
        return all(labels.get(k) == v for k, v in selector.items())

    for doc in docs:
        kind, name = doc["kind"], doc["metadata"]["name"]
        where = f"{kind.lower()}/{name}"
        spec = pod_spec(doc)
        if spec is not None:
            account = spec.get("serviceAccountName")
            if account and account not in names.get("ServiceAccount", {}):
                yield f"{where}: service account {account} is not defined"
            for volume in spec.get("volumes", []):
                ref = volume.get("configMap", {}).get("name")
                if ref and ref not in configmaps:
                    yield f"{where}: volume uses missing ConfigMap {ref}"
            for container in spec["containers"]:
                for source in container.get("envFrom", []):
                    ref = source.get("configMapRef", {}).get("name")
                    if ref and ref not in configmaps:
                        yield f"{where}: envFrom uses missing ConfigMap {ref}"
                for env in container.get("env", []):
                    secret = env.get("valueFrom", {}).get("secretKeyRef", {}).get("name")
                    if secret and secret not in EXTERNAL_SECRETS | set(names.get("Secret", {})):
                        yield f"{where}: env {env['name']} uses unknown Secret {secret}"
                ports = {p.get("name") for p in container.get("ports", [])}
                for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                    port = container.get(probe, {}).get("httpGet", {}).get("port")
                    if isinstance(port, str) and port not in ports:
                        yield f"{where}: {probe} uses undeclared port {port}"
            if kind == "Deployment" and name in PIPELINE_ROLES:
                if spec.get("terminationGracePeriodSeconds", 30) < 30:
                    yield f"{where}: terminationGracePeriodSeconds below 30 (a batch must finish)"
                template_labels = doc["spec"]["template"]["metadata"].get("labels", {})
                if template_labels.get("azure.workload.identity/use") != "true":
                    yield f"{where}: pods lack the workload identity label"
        if kind in ("Service", "PodDisruptionBudget"):
            selector = doc["spec"].get("selector", {})
            selector = selector.get("matchLabels", selector)
            if not any(
                labels_match(selector, d["spec"]["template"]["metadata"].get("labels", {}))
                for d in deployments.values()
            ):
                yield f"{where}: selector {selector} matches no Deployment's pods"
        if kind == "ScaledObject":
            target = doc["spec"]["scaleTargetRef"]["name"]
            if target not in deployments:
                yield f"{where}: scales missing Deployment {target}"
            for trigger in doc["spec"]["triggers"]:
                auth = trigger.get("authenticationRef", {}).get("name")
                if auth and auth not in names.get("TriggerAuthentication", {}):
                    yield f"{where}: uses missing TriggerAuthentication {auth}"
        if kind == "TriggerAuthentication":
            for ref in doc["spec"].get("secretTargetRef", []):
                if ref["name"] not in EXTERNAL_SECRETS | set(names.get("Secret", {})):
                    yield f"{where}: uses unknown Secret {ref['name']}"
        if kind == "VirtualService":
            for route in doc["spec"].get("http", []):
                for destination in route.get("route", []):
                    host = destination["destination"]["host"]
                    if host not in names.get("Service", {}):
                        yield f"{where}: routes to missing Service {host}"
            for gateway in doc["spec"].get("gateways", []):
                if gateway not in names.get("Gateway", {}):
                    yield f"{where}: uses missing Gateway {gateway}"

    yield from agreement_errors(names, functions_dir)


def agreement_errors(names, functions_dir):
    """KEDA must watch what the stages actually consume."""
    env = {}
    for configmap in names.get("ConfigMap", {}).values():
        if configmap["metadata"]["name"].startswith("tributary-env"):
            env = configmap.get("data", {})
    scaled = names.get("ScaledObject", {})
    if "analyze" in scaled and functions_dir:
        binding = json.loads((functions_dir / "Analyze" / "function.json").read_text())
        prefix = next(b for b in binding["bindings"] if b["type"] == "cosmosDBTrigger")[
            "leaseContainerPrefix"
        ]
        metadata = scaled["analyze"]["spec"]["triggers"][0]["metadata"]
        if metadata.get("processorName") != prefix:
            yield (
                f"scaledobject/analyze: processorName {metadata.get('processorName')!r} is not "
                f"the Analyze function's leaseContainerPrefix {prefix!r}"
            )
        for key, setting in (
            ("databaseId", "TRIBUTARY_COSMOS__DATABASE"),
            ("containerId", "TRIBUTARY_COSMOS__READINGS_CONTAINER"),
            ("leaseContainerId", "TRIBUTARY_COSMOS__LEASES_CONTAINER"),
        ):
            if setting in env and metadata.get(key) != env[setting]:
                yield f"scaledobject/analyze: {key} {metadata.get(key)!r} but {setting}={env[setting]!r}"
    if "process" in scaled:
        metadata = scaled["process"]["spec"]["triggers"][0]["metadata"]
        for key, setting in (
            ("consumerGroup", "TRIBUTARY_KAFKA__CONSUMER_GROUP"),
            ("topic", "TRIBUTARY_KAFKA__TOPIC"),
            ("bootstrapServers", "TRIBUTARY_KAFKA__BROKERS"),
        ):
            if setting in env and metadata.get(key) != env[setting]:
                yield f"scaledobject/process: {key} {metadata.get(key)!r} but {setting}={env[setting]!r}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubernetes-version", default="1.33")
    parser.add_argument("--functions-dir", type=pathlib.Path)
    parser.add_argument("files", nargs="+", type=pathlib.Path)
    args = parser.parse_args()

    passed = failed = 0
    for path in args.files:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        for doc in docs:
            where = f"{path.name}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
            errors = list(schema_errors(doc, args.kubernetes_version))
            for error in errors:
                print(f"FAIL {where}: {error}")
            failed += bool(errors)
            passed += not errors
        references = list(reference_errors(docs, args.functions_dir))
        for error in references:
            print(f"FAIL {path.name}: {error}")
        failed += len(references)
        print(f"{path.name}: {len(docs)} resources, {len(references)} reference problems")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
