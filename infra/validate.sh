#!/usr/bin/env bash
# Offline checks of the Kubernetes half of infra/: render the base and both overlays with kubectl's
# built-in kustomize (the overlays with their *.example inputs) and validate every resource: built-in
# kinds strictly against the Kubernetes OpenAPI schemas (PyPI kubernetes-validate), KEDA and Istio
# kinds against infra/k8s/schemas/, then the cross-references (infra/k8s/validate.py). Also checks
# that the deploy script and the GitHub workflow parse. The Bicep half is `cargo test --test api infra`.
# Needs kubectl and python3; installs kubernetes-validate into a cached virtualenv on first use.
set -euo pipefail
cd "$(dirname "$0")"
K8S_VERSION=${K8S_VERSION:-1.33}
KUBERNETES_VALIDATE_VERSION=1.37.0
venv=${TRIBUTARY_INFRA_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/tributary/infra-venv}

command -v kubectl >/dev/null || { echo "kubectl is needed (apt-get install kubectl)" >&2; exit 1; }
if ! "$venv/bin/python" -c "import kubernetes_validate, sys; \
    sys.exit(kubernetes_validate.__version__ != '$KUBERNETES_VALIDATE_VERSION')" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r k8s "$work/k8s"
for example in "$work"/k8s/overlays/*/*.example; do
  [ -e "${example%.example}" ] || cp "$example" "${example%.example}"
done

rendered=()
for dir in base overlays/azure overlays/functions-host; do
  out="$work/$(echo "$dir" | tr / -).yaml"
  kubectl kustomize "$work/k8s/$dir" >"$out"
  rendered+=("$out")
done
"$venv/bin/python" k8s/validate.py --kubernetes-version "$K8S_VERSION" \
  --functions-dir ../functions "${rendered[@]}"

bash -n deploy.sh
"$venv/bin/python" -c "import sys, yaml; [yaml.safe_load(open(f)) for f in sys.argv[1:]]" \
  ../.github/workflows/*.yml
echo "infra/validate.sh: ok"
