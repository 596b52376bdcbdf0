#!/usr/bin/env bash
# Deploy Tributary to Azure: Bicep (infra/main.bicep), images into ACR (`az acr build`, which runs the
# classic builder: infra/docker/Dockerfile uses no BuildKit syntax), the Kubernetes overlay filled with
# the Bicep outputs (infra/overlay-values.sh), migrate, rollout, and API Management pointed at the ingress.
#   RESOURCE_GROUP=rg-tributary-dev infra/deploy.sh
# Environment: RESOURCE_GROUP (required); AZURE_LOCATION (westeurope); TRIBUTARY_ENV (dev);
# FACE=native|functions-host (native); IMAGE_TAG (git commit); BUILD_IMAGES=0 when CI has pushed
# them already; TRIBUTARY_INGEST_FUNCTION_KEY (functions-host only: the Ingest key APIM sends);
# COSMOS_SCALER_REF (commit of kedacore/external-scaler-azure-cosmos-db with workload identity);
# plus what infra/main.bicepparam reads (APIM_PUBLISHER_EMAIL, POSTGRES_ADMIN_OBJECT_ID, ...).
# Needs az (logged in), kubectl and jq.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${RESOURCE_GROUP:?set RESOURCE_GROUP}"
export AZURE_LOCATION=${AZURE_LOCATION:-westeurope} TRIBUTARY_ENV=${TRIBUTARY_ENV:-dev}
FACE=${FACE:-native}
IMAGE_TAG=${IMAGE_TAG:-$(git rev-parse --short=12 HEAD)}
BUILD_IMAGES=${BUILD_IMAGES:-1}
COSMOS_SCALER_REF=${COSMOS_SCALER_REF:-main}
NS=tributary
case "$FACE" in
  native) ;;
  functions-host) : "${TRIBUTARY_INGEST_FUNCTION_KEY:?functions-host needs TRIBUTARY_INGEST_FUNCTION_KEY}" ;;
  *) echo "FACE is native or functions-host" >&2; exit 2 ;;
esac
export TRIBUTARY_INGEST_FUNCTION_KEY=${TRIBUTARY_INGEST_FUNCTION_KEY:-}

echo "== infrastructure (Bicep)"
az group create -n "$RESOURCE_GROUP" -l "$AZURE_LOCATION" -o none
if [ -z "${TRIBUTARY_INGRESS_URL:-}" ]; then
  # Keep the ingest backend APIM already has, so a redeploy does not point it away meanwhile.
  apim=$(az deployment group show -g "$RESOURCE_GROUP" -n tributary \
    --query properties.outputs.apimName.value -o tsv 2>/dev/null || true)
  if [ -n "$apim" ]; then
    TRIBUTARY_INGRESS_URL=$(az apim api show -g "$RESOURCE_GROUP" -n "$apim" \
      --api-id tributary-ingest --query serviceUrl -o tsv 2>/dev/null || true)
  fi
fi
export TRIBUTARY_INGRESS_URL=${TRIBUTARY_INGRESS_URL:-http://ingress.invalid}
outputs=$(az deployment group create -g "$RESOURCE_GROUP" -n tributary \
  -f infra/main.bicep -p infra/main.bicepparam --query properties.outputs -o json)
out() { jq -r --arg k "$1" '.[$k].value' <<<"$outputs"; }
acr=$(out acrLoginServer)

echo "== images"
if [ "$BUILD_IMAGES" = 1 ]; then
  for target in native functions; do
    repo=tributary; [ "$target" = functions ] && repo=tributary-functions
    az acr build -r "$(out acrName)" -t "$repo:$IMAGE_TAG" --target "$target" \
      -f infra/docker/Dockerfile . -o none
  done
fi
scaler_tag=wi-${COSMOS_SCALER_REF:0:12}
if ! az acr repository show-tags -n "$(out acrName)" --repository external-scaler-azure-cosmos-db \
    -o tsv 2>/dev/null | grep -qx "$scaler_tag"; then
  # The released scaler image predates workload identity (endpoint/leaseEndpoint/clientId).
  az acr build -r "$(out acrName)" -t "external-scaler-azure-cosmos-db:$scaler_tag" \
    -f src/Scaler/Dockerfile \
    "https://github.com/kedacore/external-scaler-azure-cosmos-db.git#$COSMOS_SCALER_REF" -o none
fi

echo "== Kafka credentials"
if [ "$(out kafkaFlavor)" = eventHubs ]; then
  rule() {
    az eventhubs namespace authorization-rule keys list -g "$RESOURCE_GROUP" \
      --namespace-name "$(out eventHubsNamespace)" -n "$1" --query primaryConnectionString -o tsv
  }
  app_password=$(rule tributary-app) keda_password=$(rule keda-scaler)
  keda_sasl=plaintext keda_tls=enable
else
  KAFKA_BROKERS=$(az hdinsight host list -g "$RESOURCE_GROUP" -n "$(out hdInsightClusterName)" \
    --query "[?starts_with(name, 'wn')].name" -o tsv | sed 's/$/:9092/' | paste -sd, -)
  export KAFKA_BROKERS
  app_password="" keda_password="" keda_sasl=none keda_tls=disable
fi

echo "== overlay values"
outputs_file=$(mktemp)
trap 'rm -f "$outputs_file"' EXIT
printf '%s' "$outputs" >"$outputs_file"
IMAGE_TAG=$IMAGE_TAG SCALER_TAG=$scaler_tag infra/overlay-values.sh "$outputs_file"

echo "== Kubernetes ($FACE)"
az aks get-credentials -g "$RESOURCE_GROUP" -n "$(out aksName)" --overwrite-existing -o none
rendered=$(mktemp)
trap 'rm -f "$rendered" "$outputs_file"' EXIT
kubectl kustomize "infra/k8s/overlays/$FACE" >"$rendered"
kubectl -n "$NS" delete job tributary-migrate --ignore-not-found
kubectl apply -f "$rendered" -l tributary.io/deploy-phase=pre
kubectl -n "$NS" create secret generic tributary-kafka --dry-run=client -o yaml \
  --from-literal=sasl-password="$app_password" \
  --from-literal=keda-sasl="$keda_sasl" --from-literal=keda-tls="$keda_tls" \
  --from-literal=keda-username='$ConnectionString' --from-literal=keda-password="$keda_password" |
  kubectl apply -f -
if [ "$FACE" = functions-host ]; then
  kubectl -n "$NS" create secret generic tributary-function-keys --dry-run=client -o yaml \
    --from-literal=host.master="$(openssl rand -hex 32)" \
    --from-literal=host.function.default="$TRIBUTARY_INGEST_FUNCTION_KEY" | kubectl apply -f -
fi
kubectl -n "$NS" wait --for=condition=complete job/tributary-migrate --timeout=10m
kubectl apply -f "$rendered"
for deployment in ingest query analyze process cosmos-scaler; do
  kubectl -n "$NS" rollout status "deployment/$deployment" --timeout=10m
done

echo "== API Management backend"
ip=""
for _ in $(seq 60); do
  ip=$(kubectl -n aks-istio-ingress get svc aks-istio-ingressgateway-external \
    -o jsonpath='{.status.loadBalancer.ingress[0].ip}' 2>/dev/null || true)
  [ -n "$ip" ] && break
  sleep 5
done
: "${ip:?the Istio ingress gateway has no external IP}"
if [ "$TRIBUTARY_INGRESS_URL" != "http://$ip" ]; then
  az apim api update -g "$RESOURCE_GROUP" -n "$(out apimName)" --api-id tributary-ingest \
    --service-url "http://$ip" -o none
fi
echo "dashboard:  http://$ip/"
echo "ingest:     $(out apimIngestUrl)  (APIM subscription key or device JWT)"
