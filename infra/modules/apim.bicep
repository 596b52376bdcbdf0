// API Management in front of ingest: one API whose operations are imported from the HTTP API's
// OpenAPI description (schemas/openapi.json, also served at /openapi.json) limited to the paths
// devices reach through the gateway (POST /api/telemetry), a per-device rate-limit-by-key, and either a subscription key (default) or a JWT from the devices' identity
// provider. The backend is the AKS Istio ingress gateway; in the functions-host overlay APIM also
// supplies the Functions host key of the Ingest function.

@description('Azure region.')
param location string

@description('Service name, globally unique.')
param name string

@description('Tags for every resource.')
param tags object

@description('API Management SKU (rate-limit-by-key needs Basic v2, Standard v2, Developer or higher; not Consumption).')
@allowed([
  'Developer'
  'BasicV2'
  'StandardV2'
  'Premium'
])
param sku string = 'BasicV2'

@description('Publisher e-mail, required by API Management.')
param publisherEmail string

@description('Publisher name.')
param publisherName string

@description('Base URL of the ingest backend, e.g. http://<ingress IP>; set by infra/deploy.sh once the gateway has an address.')
param backendUrl string

@description('How devices authenticate: a subscription key per device or fleet, or a JWT.')
@allowed([
  'subscriptionKey'
  'jwt'
])
param authMode string = 'subscriptionKey'

@description('OpenID configuration URL of the token issuer (jwt mode).')
param openIdConfigUrl string = ''

@description('Audience the device tokens must carry (jwt mode).')
param audience string = ''

@description('Requests each device may send per renewal period.')
@minValue(1)
param callsPerDevice int = 60

@description('Renewal period of the per-device limit in seconds (at most 300).')
@minValue(1)
@maxValue(300)
param renewalPeriodSeconds int = 60

@description('Functions host key for the Ingest function (functions-host overlay); empty for the native face.')
@secure()
param ingestFunctionKey string = ''

@description('Application Insights for gateway logs.')
param appInsightsId string

@description('Application Insights connection string for the APIM logger.')
param appInsightsConnectionString string

var jwt = authMode == 'jwt'
var deviceKey = jwt
  ? 'context.Request.Headers.GetValueOrDefault("Authorization", "").AsJwt()?.Subject ?? "anonymous"'
  : 'context.Request.Headers.GetValueOrDefault("X-Device-Id", context.Subscription?.Id ?? "anonymous")'
var functionKeyHeader = empty(ingestFunctionKey)
  ? ''
  : '<set-header name="x-functions-key" exists-action="override"><value>{{ingest-function-key}}</value></set-header>'
var policy = replace(
  replace(
    replace(
      replace(
        replace(loadTextContent('apim-ingest-policy.xml'), '__VALIDATE_JWT__', jwt ? loadTextContent('apim-validate-jwt.xml') : ''),
        '__DEVICE_CALLS__',
        string(callsPerDevice)
      ),
      '__PERIOD__',
      string(renewalPeriodSeconds)
    ),
    '__DEVICE_KEY__',
    deviceKey
  ),
  '__FUNCTION_KEY__',
  functionKeyHeader
)

// The one description of the API; APIM takes its operations, parameters and responses from it.
var openapi = loadJsonContent('../../schemas/openapi.json')
var ingestDescription = {
  openapi: openapi.openapi
  info: openapi.info
  tags: openapi.tags
  paths: {
    '/api/telemetry': openapi.paths['/api/telemetry']
  }
  components: openapi.components
}

resource service 'Microsoft.ApiManagement/service@2024-05-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: sku
    capacity: 1
  }
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    publisherEmail: publisherEmail
    publisherName: publisherName
  }
}

resource logger 'Microsoft.ApiManagement/service/loggers@2024-05-01' = {
  parent: service
  name: 'appinsights'
  properties: {
    loggerType: 'applicationInsights'
    resourceId: appInsightsId
    credentials: {
      connectionString: appInsightsConnectionString
    }
  }
}

resource openIdConfig 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = if (jwt) {
  parent: service
  name: 'ingest-openid-config'
  properties: {
    displayName: 'ingest-openid-config'
    value: openIdConfigUrl
  }
}

resource audienceValue 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = if (jwt) {
  parent: service
  name: 'ingest-audience'
  properties: {
    displayName: 'ingest-audience'
    value: audience
  }
}

resource functionKey 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = if (!empty(ingestFunctionKey)) {
  parent: service
  name: 'ingest-function-key'
  properties: {
    displayName: 'ingest-function-key'
    value: ingestFunctionKey
    secret: true
  }
}

resource api 'Microsoft.ApiManagement/service/apis@2024-05-01' = {
  parent: service
  name: 'tributary-ingest'
  properties: {
    displayName: 'Tributary ingest'
    path: 'ingest'
    protocols: [
      'https'
    ]
    serviceUrl: backendUrl
    subscriptionRequired: !jwt
    subscriptionKeyParameterNames: {
      header: 'Ocp-Apim-Subscription-Key'
      query: 'subscription-key'
    }
    format: 'openapi+json'
    value: string(ingestDescription)
  }
}

resource apiPolicy 'Microsoft.ApiManagement/service/apis/policies@2024-05-01' = {
  parent: api
  name: 'policy'
  dependsOn: [
    openIdConfig
    audienceValue
    functionKey
  ]
  properties: {
    format: 'rawxml'
    value: policy
  }
}

resource diagnostics 'Microsoft.ApiManagement/service/apis/diagnostics@2024-05-01' = {
  parent: api
  name: 'applicationinsights'
  properties: {
    loggerId: logger.id
    alwaysLog: 'allErrors'
    sampling: {
      samplingType: 'fixed'
      percentage: 10
    }
  }
}

resource devices 'Microsoft.ApiManagement/service/products@2024-05-01' = if (!jwt) {
  parent: service
  name: 'devices'
  properties: {
    displayName: 'Devices'
    subscriptionRequired: true
    approvalRequired: false
    state: 'published'
  }
}

resource devicesApi 'Microsoft.ApiManagement/service/products/apis@2024-05-01' = if (!jwt) {
  parent: devices
  name: api.name
}

output name string = service.name
output gatewayUrl string = service.properties.gatewayUrl
output ingestUrl string = '${service.properties.gatewayUrl}/ingest/api/telemetry'
