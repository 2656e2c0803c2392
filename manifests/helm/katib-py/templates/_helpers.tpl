{{/* Names are Katib's own, fixed: clients and suggestion images look them up by these names. */}}

{{- define "katib-py.labels" -}}
app.kubernetes.io/name: katib-py
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: katib
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component: katib-py.selector (dict "ctx" $ "component" "controller") */}}
{{- define "katib-py.selector" -}}
app.kubernetes.io/name: katib-py
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "katib-py.componentLabels" -}}
{{ include "katib-py.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "katib-py.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* The ServiceAccount the operator runs as; the Pod webhook ignores its requests. */}}
{{- define "katib-py.operatorServiceAccount" -}}katib-controller{{- end }}

{{- define "katib-py.webhookService" -}}katib-controller{{- end }}

{{- define "katib-py.certSecret" -}}katib-webhook-cert{{- end }}

{{/* Pod-level securityContext of katib-py's own Pods (the image's unprivileged user). */}}
{{- define "katib-py.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container-level securityContext of every container the chart runs. */}}
{{- define "katib-py.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop:
    - ALL
{{- end }}

{{/* Database wiring ------------------------------------------------------------------------ */}}

{{- define "katib-py.dbSecretName" -}}
{{- if .Values.database.existingSecret -}}
{{ .Values.database.existingSecret }}
{{- else if eq .Values.database.type "postgres" -}}
katib-postgres-secrets
{{- else -}}
katib-mysql-secrets
{{- end -}}
{{- end }}

{{- define "katib-py.dbPasswordKey" -}}
{{- if .Values.database.passwordKey -}}
{{ .Values.database.passwordKey }}
{{- else if not .Values.database.bundled.enabled -}}
DB_PASSWORD
{{- else if eq .Values.database.type "postgres" -}}
POSTGRES_PASSWORD
{{- else -}}
MYSQL_ROOT_PASSWORD
{{- end -}}
{{- end }}

{{- define "katib-py.dbUserKey" -}}
{{- if .Values.database.userKey -}}
{{ .Values.database.userKey }}
{{- else if not .Values.database.bundled.enabled -}}
DB_USER
{{- else -}}
POSTGRES_USER
{{- end -}}
{{- end }}

{{/* Host of the database db-manager talks to. */}}
{{- define "katib-py.dbHost" -}}
{{- if .Values.database.bundled.enabled -}}
{{ ternary "katib-postgres" "katib-mysql" (eq .Values.database.type "postgres") }}
{{- else -}}
{{ required "database.external.host is required when database.bundled.enabled=false" .Values.database.external.host }}
{{- end -}}
{{- end }}

{{/* The database password: the value, else the one already in the cluster, else a new random one. */}}
{{- define "katib-py.dbPassword" -}}
{{- if .Values.database.password -}}
{{ .Values.database.password }}
{{- else if not .Values.database.bundled.enabled -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "katib-py.dbSecretName" .) -}}
{{- $key := include "katib-py.dbPasswordKey" . -}}
{{- if and $existing (hasKey (default dict $existing.data) $key) -}}
{{ index $existing.data $key | b64dec }}
{{- else -}}
{{ randAlphaNum 32 }}
{{- end -}}
{{- end -}}
{{- end }}
