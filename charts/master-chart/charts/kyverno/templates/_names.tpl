{{- define "kyverno.controllerName" -}}
{{- printf "%s-admission-controller" (include "kyverno.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "kyverno.serviceName" -}}
{{- printf "%s-svc" (include "kyverno.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{/* Cluster-scoped objects carry the namespace and the release so two installs never clash. */}}
{{- define "kyverno.clusterName" -}}
{{- printf "%s-%s-%s" .Release.Namespace .Release.Name (include "kyverno.controllerName" .) | trunc 253 -}}
{{- end -}}
{{- define "kyverno.policyNamespaces" -}}
{{- toJson (default (list .Release.Namespace) .Values.policies.namespaces) -}}
{{- end -}}
{{- define "kyverno.labelPrefix" -}}
{{- dig "tiers" "labelPrefix" "helm-tiers.io/" (.Values.global | default dict) -}}
{{- end -}}
