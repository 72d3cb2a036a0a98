{{/*
Names are fixed, as in manifests/: the APIService is cluster-wide and names the Service, so there is
one release per cluster.
*/}}

{{/* Labels Helm adds to every object's metadata (not to selectors nor Pod templates). */}}
{{- define "cas.helmLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* Labels of the server's objects; "cas.apiserverSelector" selects its Pods. */}}
{{- define "cas.apiserverSelector" -}}
app.kubernetes.io/name: connectors-access-apiserver
{{- end -}}
{{- define "cas.apiserverPodLabels" -}}
{{ include "cas.apiserverSelector" . }}
app.kubernetes.io/component: apiserver
{{- end -}}
{{- define "cas.apiserverLabels" -}}
{{ include "cas.apiserverPodLabels" . }}
{{ include "cas.helmLabels" . }}
{{- end -}}

{{- define "cas.etcdSelector" -}}
app.kubernetes.io/name: connectors-etcd
{{- end -}}
{{- define "cas.etcdPodLabels" -}}
{{ include "cas.etcdSelector" . }}
app.kubernetes.io/component: etcd
{{- end -}}
{{- define "cas.etcdLabels" -}}
{{ include "cas.etcdPodLabels" . }}
{{ include "cas.helmLabels" . }}
{{- end -}}

{{- define "cas.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The in-cluster etcd member's DNS name: connectors-etcd-<i>.connectors-etcd.<ns>.svc */}}
{{- define "cas.etcdMember" -}}
connectors-etcd-{{ .i }}.connectors-etcd.{{ .ns }}.svc
{{- end -}}

{{/* The value of --etcd-servers. */}}
{{- define "cas.etcdServers" -}}
{{- if eq .Values.etcd.mode "internal" -}}
{{- $ns := .Release.Namespace -}}
{{- $urls := list -}}
{{- range $i := until (int .Values.etcd.internal.replicas) -}}
{{- $urls = append $urls (printf "https://%s:2379" (include "cas.etcdMember" (dict "i" $i "ns" $ns))) -}}
{{- end -}}
{{- join "," $urls -}}
{{- else if eq .Values.etcd.mode "external" -}}
{{- if not .Values.etcd.external.servers -}}
{{- fail "etcd.mode=external needs etcd.external.servers (the etcd client URLs)" -}}
{{- end -}}
{{- join "," .Values.etcd.external.servers -}}
{{- else -}}
{{- fail (printf "etcd.mode must be internal or external, not %q" .Values.etcd.mode) -}}
{{- end -}}
{{- end -}}

{{/* Whether the server uses TLS towards etcd (always for the internal etcd). */}}
{{- define "cas.etcdTLS" -}}
{{- if or (eq .Values.etcd.mode "internal") .Values.etcd.clientSecretName -}}true{{- end -}}
{{- end -}}
