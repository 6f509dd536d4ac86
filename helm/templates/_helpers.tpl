{{/* Base name of every resource: <release>-<chart>, or the release name when it already contains the chart name. */}}
{{- define "legate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "legate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: stable for the life of the Deployment (selectors are immutable). */}}
{{- define "legate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "legate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "legate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "legate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: legate
{{- end -}}

{{- define "legate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "legate.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "legate.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the xDS CA (tls.crt, tls.key), whichever way it is provided. */}}
{{- define "legate.xdsCaSecretName" -}}
{{- if eq .Values.xds.tls.mode "secret" -}}
{{- .Values.xds.tls.secretName -}}
{{- else -}}
{{- printf "%s-xds-ca" (include "legate.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "legate.xdsServiceName" -}}
{{- printf "%s-xds" (include "legate.fullname" .) -}}
{{- end -}}

{{/*
Fails the install with the command to run when the Gateway API CRDs are missing or too old. Only a
live install or upgrade can tell (lookup returns nothing under `helm template` and `helm lint`), so a
cluster is detected by reading kube-system, which every cluster has.
*/}}
{{- define "legate.checkGatewayAPI" -}}
{{- if and .Values.gatewayAPI.check (not .Values.gatewayAPI.crds.manifest) (lookup "v1" "Namespace" "" "kube-system") -}}
{{- $install := printf "kubectl apply --server-side -f https://github.com/kubernetes-sigs/gateway-api/releases/download/%s/standard-install.yaml" .Values.gatewayAPI.version -}}
{{- $missing := list -}}
{{- range $crd := list "gatewayclasses" "gateways" "httproutes" "grpcroutes" "referencegrants" -}}
{{- if not (lookup "apiextensions.k8s.io/v1" "CustomResourceDefinition" "" (printf "%s.gateway.networking.k8s.io" $crd)) -}}
{{- $missing = append $missing $crd -}}
{{- end -}}
{{- end -}}
{{- if $missing -}}
{{- fail (printf "\n\nLegate needs the Gateway API CRDs (standard channel, %s or newer; tested with %s); missing: %s.\nInstall them first:\n  %s\nor let the chart install them: --set-file gatewayAPI.crds.manifest=<standard-install.yaml>\n(or skip this check with --set gatewayAPI.check=false)." .Values.gatewayAPI.minVersion .Values.gatewayAPI.version (join ", " $missing) $install) -}}
{{- end -}}
{{- $crd := lookup "apiextensions.k8s.io/v1" "CustomResourceDefinition" "" "gateways.gateway.networking.k8s.io" -}}
{{- $bundle := index (default dict $crd.metadata.annotations) "gateway.networking.k8s.io/bundle-version" | default "" -}}
{{- if and $bundle (semverCompare (printf "<%s" .Values.gatewayAPI.minVersion) $bundle) -}}
{{- fail (printf "\n\nThe installed Gateway API CRDs are %s; Legate needs %s or newer (tested with %s).\nUpgrade them first:\n  %s" $bundle .Values.gatewayAPI.minVersion .Values.gatewayAPI.version $install) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Fails with a clear message when an optional integration's CRDs are not served by the cluster. */}}
{{- define "legate.requireAPI" -}}
{{- $ := index . 0 -}}
{{- $api := index . 1 -}}
{{- $why := index . 2 -}}
{{- if not ($.Capabilities.APIVersions.Has $api) -}}
{{- fail (printf "\n\n%s needs the API %s, which this cluster does not serve. Install it first, or turn the option off." $why $api) -}}
{{- end -}}
{{- end -}}

{{- define "legate.leaseName" -}}
{{- printf "%s-operator" (include "legate.fullname" .) -}}
{{- end -}}
