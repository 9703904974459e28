{{/* ---- Names ------------------------------------------------------------------------------------------- */}}

{{/* "<release>-<suffix>": the Job names the runbooks use (kubectl logs job/<release>-pre-crd-check). */}}
{{- define "ht.name" -}}
{{- printf "%s-%s" .root.Release.Name .suffix | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Cluster-scoped objects also carry the namespace: the same release name in two namespaces must not clash. */}}
{{- define "ht.clusterName" -}}
{{- printf "%s-%s-%s" .root.Release.Namespace .root.Release.Name .suffix | trunc 253 | trimSuffix "-" -}}
{{- end -}}

{{/* ---- Labels ------------------------------------------------------------------------------------------ */}}

{{- define "ht.labelPrefix" -}}
{{- dig "tiers" "labelPrefix" "helm-tiers.io/" (.Values.global | default dict) -}}
{{- end -}}

{{/* Labels of every hook object. The tier labels repeat the label contract because Helm 3 never post-renders
     hooks; `<prefix>hook` lets the post-install check tell hook pods from the release's workloads. */}}
{{- define "ht.hookLabels" -}}
{{- $root := .root -}}
{{- $prefix := include "ht.labelPrefix" $root -}}
{{- $tiers := $root.Values.global.tiers -}}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ $root.Chart.Name }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app.kubernetes.io/component: hook
{{ $prefix }}hook: {{ .hook }}
{{- if $tiers.component }}
{{ $prefix }}tier: {{ $tiers.tier | toString | quote }}
{{ $prefix }}component: {{ $tiers.component | quote }}
{{ $prefix }}release: {{ $root.Release.Name | quote }}
{{- end }}
{{- with $tiers.plan }}
{{ $prefix }}plan: {{ . | quote }}
{{- if $tiers.partOfLabel }}
app.kubernetes.io/part-of: {{ . | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Hook annotations: event, weight, delete policy, and the tier annotations of the label contract (with the plan
     revision when global.tiers.planRevision is set). `before-hook-creation` only for Jobs, so the last run of
     every check stays readable (kubectl logs job/...); RBAC is also removed once all hooks of the event
     succeeded, leaving no standing permissions behind. The output-log policy only with global.hooks.outputLogs:
     helm-controller 1.6.2-1.6.4 leaves Helm's hook output function unset and panics on it (the Flux generator
     turns it off). */}}
{{- define "ht.hookAnnotations" -}}
{{- $root := .root -}}
{{- $prefix := include "ht.labelPrefix" $root -}}
helm.sh/hook: {{ .events }}
helm.sh/hook-weight: {{ .weight | quote }}
{{- if .job }}
helm.sh/hook-delete-policy: before-hook-creation
{{- if dig "hooks" "outputLogs" true ($root.Values.global | default dict) }}
helm.sh/hook-output-log-policy: hook-succeeded,hook-failed
{{- end }}
{{- else }}
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end }}
{{- if $root.Values.global.tiers.component }}
{{ $prefix }}tier: {{ $root.Values.global.tiers.tier | toString | quote }}
{{ $prefix }}depends-on: {{ join "," ($root.Values.global.tiers.dependsOn | default list) | quote }}
{{- end }}
{{- /* The plan revision, as `post-render --plan-revision` writes it: object metadata only (the Job's pod template
       stays the same, so a new revision alone restarts nothing). */}}
{{- with $root.Values.global.tiers.planRevision }}
{{ $prefix }}plan-revision: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* ---- What the checks check -------------------------------------------------------------------------- */}}

{{/* One rule for every CRD check: each part's `wanted` CRDs are required when `requires` is true and only warned
     about otherwise; its `optional` ones always only warn. Input: a list of dicts {requires, wanted, optional}. */}}
{{- define "ht.crdSplit" -}}
{{- $required := list -}}
{{- $optional := list -}}
{{- range $p := . -}}
{{- if $p.requires -}}
{{- $required = concat $required $p.wanted -}}
{{- else -}}
{{- $optional = concat $optional $p.wanted -}}
{{- end -}}
{{- $optional = concat $optional $p.optional -}}
{{- end -}}
{{- $required = $required | uniq -}}
{{- $optional = without ($optional | uniq) $required -}}
{{- toJson (dict "required" $required "optional" $optional) -}}
{{- end -}}

{{/* Components whose CRDs the pre-crd-check covers: every enabled one except kyverno (its own Job). */}}
{{- define "ht.crdLists" -}}
{{- $parts := list -}}
{{- range $c := list "database" "cache" "api" "frontend" "monitoring" -}}
{{- $v := index $.Values $c | default dict -}}
{{- if $v.enabled -}}
{{- $parts = append $parts (dict "requires" $v.requiresCRDs "wanted" ($v.requiredCRDs | default list) "optional" ($v.optionalCRDs | default list)) -}}
{{- end -}}
{{- end -}}
{{- include "ht.crdSplit" $parts -}}
{{- end -}}

{{/* The kyverno CRD sets of crd-check's --profile (hooks/src/crd/selection.ts PROFILES), expanded here: the Job
     passes them as plain --required/--optional lists, so the chart alone decides what is required (requiresCRDs)
     and the installer's resourceNames are built from the very list the Job requires. test/chart.test.ts compares
     these lists with PROFILES. */}}
{{- define "ht.kyvernoProfile" -}}
{{- $core := list "clusterpolicies.kyverno.io" "policies.kyverno.io" "policyexceptions.kyverno.io" "cleanuppolicies.kyverno.io" "clustercleanuppolicies.kyverno.io" "updaterequests.kyverno.io" -}}
{{- if eq . "kyverno" -}}
{{- /* Kyverno 1.13+: the core set required; report CRDs optional (policy enforcement works without them). */ -}}
{{- toJson (dict "required" $core "optional" (list "ephemeralreports.reports.kyverno.io" "clusterephemeralreports.reports.kyverno.io" "policyreports.wgpolicyk8s.io" "clusterpolicyreports.wgpolicyk8s.io")) -}}
{{- else if eq . "kyverno-1.12" -}}
{{- /* Kyverno <= 1.12: the core set plus the admission/background-scan report CRDs 1.13 removed. */ -}}
{{- toJson (dict "required" (concat $core (list "admissionreports.kyverno.io" "clusteradmissionreports.kyverno.io" "backgroundscanreports.kyverno.io" "clusterbackgroundscanreports.kyverno.io")) "optional" list) -}}
{{- else -}}
{{- fail (printf "kyverno.crdProfile: unknown CRD profile %q (known: kyverno, kyverno-1.12)" .) -}}
{{- end -}}
{{- end -}}

{{/* What the kyverno-crd-check checks: the profile's and the component's CRDs, required only when
     kyverno.requiresCRDs is true (otherwise only warned about); the optional lists always only warn. */}}
{{- define "ht.kyvernoCrdLists" -}}
{{- $v := .Values.kyverno | default dict -}}
{{- $parts := list -}}
{{- if $v.enabled -}}
{{- $profile := include "ht.kyvernoProfile" ($v.crdProfile | default "kyverno") | fromJson -}}
{{- $parts = list (dict "requires" $v.requiresCRDs "wanted" (concat $profile.required ($v.requiredCRDs | default list)) "optional" (concat $profile.optional ($v.optionalCRDs | default list))) -}}
{{- end -}}
{{- include "ht.crdSplit" $parts -}}
{{- end -}}

{{/* Services the enabled components are configured to reach; the dependency check verifies they exist. */}}
{{- define "ht.requiredServices" -}}
{{- $hosts := list -}}
{{- if .Values.api.enabled -}}
{{- $hosts = append $hosts (dig "database" "host" "database" .Values.api) -}}
{{- $hosts = append $hosts (dig "cache" "host" "cache" .Values.api) -}}
{{- end -}}
{{- if .Values.frontend.enabled -}}
{{- $url := .Values.frontend.apiUrl | default "http://api:9898" -}}
{{- $hosts = append $hosts ((urlParse $url).host | splitList ":" | first) -}}
{{- end -}}
{{- /* Only a Service name in this namespace can be checked: skip FQDNs, IP addresses and external hosts
       (an RDS endpoint, another namespace's Service), which dependency-check would report as missing. */ -}}
{{- $services := list -}}
{{- range $hosts -}}
{{- if and . (not (contains "." .)) -}}
{{- $services = append $services . -}}
{{- end -}}
{{- end -}}
{{- toJson ($services | uniq) -}}
{{- end -}}

{{/* ---- Deadlines -------------------------------------------------------------------------------------- */}}

{{/* activeDeadlineSeconds of a hook Job; refuses to render when it would reach the Helm/Flux timeout, because
     then Helm gives up first and the Job's own summary is never written. */}}
{{- define "ht.deadline" -}}
{{- $h := .root.Values.global.hooks -}}
{{- $deadline := add .timeout $h.deadlineMarginSeconds -}}
{{- if ge (int $deadline) (int $h.helmTimeoutSeconds) -}}
{{- fail (printf "global.hooks: %s needs activeDeadlineSeconds %d (timeout %d + margin %d), which must stay below global.hooks.helmTimeoutSeconds (%d): lower the hook timeout or raise the Helm/Flux timeout" .hook (int $deadline) (int .timeout) (int $h.deadlineMarginSeconds) (int $h.helmTimeoutSeconds)) -}}
{{- end -}}
{{- $deadline -}}
{{- end -}}

{{/* ---- A hook Job ------------------------------------------------------------------------------------- */}}
{{/* dict: root, hook (Job suffix), events, weight, serviceAccount, program, timeout, args (list) */}}
{{- define "ht.hookJob" -}}
{{- $root := .root -}}
{{- $h := $root.Values.global.hooks -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "ht.name" (dict "root" $root "suffix" .hook) }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "ht.hookLabels" . | nindent 4 }}
  annotations:
    {{- include "ht.hookAnnotations" (dict "root" $root "events" .events "weight" .weight "job" true) | nindent 4 }}
spec:
  backoffLimit: {{ $h.backoffLimit }}
  activeDeadlineSeconds: {{ include "ht.deadline" . }}
  # No ttlSecondsAfterFinished: the finished Job must stay readable until the next run replaces it.
  template:
    metadata:
      labels:
        {{- include "ht.hookLabels" . | nindent 8 }}
    spec:
      restartPolicy: Never
      serviceAccountName: {{ .serviceAccount }}
      automountServiceAccountToken: true
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        runAsGroup: 65532
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: {{ .program }}
          image: {{ printf "%s:%s" $h.image.repository $h.image.tag | quote }}
          imagePullPolicy: {{ $h.image.pullPolicy }}
          command: ["/nodejs/bin/node", "/app/{{ .program }}.cjs"]
          args:
            - --namespace={{ $root.Release.Namespace }}
            - --timeout={{ .timeout }}
            - --log-level={{ $h.logLevel }}
            {{- range .args }}
            - {{ . | quote }}
            {{- end }}
          securityContext:
            runAsNonRoot: true
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop:
                - ALL
            seccompProfile:
              type: RuntimeDefault
          # On failure `kubectl describe` shows the program's last lines even when the logs are gone.
          terminationMessagePolicy: FallbackToLogsOnError
          resources:
            {{- toYaml $h.resources | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 32Mi
{{- end -}}

{{/* ---- Hook RBAC: a ServiceAccount and its (Cluster)Role bindings, weights below the Jobs ------------------- */}}
{{/* dict: root, hook (name suffix), events, rules (namespaced, list), clusterRules (list) */}}
{{- define "ht.hookRBAC" -}}
{{- $root := .root -}}
{{- $name := include "ht.name" (dict "root" $root "suffix" .hook) -}}
{{- $cluster := include "ht.clusterName" (dict "root" $root "suffix" .hook) -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "ht.hookLabels" . | nindent 4 }}
  annotations:
    {{- include "ht.hookAnnotations" (dict "root" $root "events" .events "weight" -30) | nindent 4 }}
{{- if .clusterRules }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ $cluster }}
  labels:
    {{- include "ht.hookLabels" . | nindent 4 }}
  annotations:
    {{- include "ht.hookAnnotations" (dict "root" $root "events" .events "weight" -29) | nindent 4 }}
rules:
  {{- toYaml .clusterRules | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ $cluster }}
  labels:
    {{- include "ht.hookLabels" . | nindent 4 }}
  annotations:
    {{- include "ht.hookAnnotations" (dict "root" $root "events" .events "weight" -28) | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ $cluster }}
subjects:
  - kind: ServiceAccount
    name: {{ $name }}
    namespace: {{ $root.Release.Namespace }}
{{- end }}
{{- if .rules }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ $name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "ht.hookLabels" . | nindent 4 }}
  annotations:
    {{- include "ht.hookAnnotations" (dict "root" $root "events" .events "weight" -29) | nindent 4 }}
rules:
  {{- toYaml .rules | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ $name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "ht.hookLabels" . | nindent 4 }}
  annotations:
    {{- include "ht.hookAnnotations" (dict "root" $root "events" .events "weight" -28) | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ $name }}
subjects:
  - kind: ServiceAccount
    name: {{ $name }}
    namespace: {{ $root.Release.Namespace }}
{{- end }}
{{- end -}}
