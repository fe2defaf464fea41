{{/* Labels Helm adds to every object, beside the app.kubernetes.io/name (and component) labels the kustomize
base has; tests/chart compares the two renders without these. */}}
{{- define "spotfit.helmLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "spotfit.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The extender runs in Deployment spotfit; the scaler (`--scaler-only`) does not use its config. */}}
{{- define "spotfit.extenderOn" -}}
{{- if .Values.roles.extender }}true{{ end -}}
{{- end -}}

{{/* The cost ledger ConfigMap: config scaler.ledgerConfigMap, default spotfit-cost-ledger (docs/scaler.md). */}}
{{- define "spotfit.ledgerConfigMap" -}}
{{- dig "scaler" "ledgerConfigMap" "spotfit-cost-ledger" (.Values.config | default dict) -}}
{{- end -}}

{{/* NetworkPolicy peer: every address outside the pod network (nodes, the control plane). */}}
{{- define "spotfit.notPodNetwork" -}}
- ipBlock:
    cidr: 0.0.0.0/0
    {{- with .Values.networkPolicy.podCIDRs }}
    except:
      {{- toYaml . | nindent 6 }}
    {{- end }}
{{- end -}}

{{/* NetworkPolicy peer: the Prometheus pods (empty when both selectors are). */}}
{{- define "spotfit.prometheusPeer" -}}
{{- $peer := dict -}}
{{- with .Values.networkPolicy.prometheus.namespaceSelector }}{{ $_ := set $peer "namespaceSelector" . }}{{ end -}}
{{- with .Values.networkPolicy.prometheus.podSelector }}{{ $_ := set $peer "podSelector" . }}{{ end -}}
{{- if $peer }}{{ list $peer | toYaml }}{{ end -}}
{{- end -}}

{{/* The serve config: values.config plus what the chart's own switches imply. */}}
{{- define "spotfit.config" -}}
{{- $cfg := deepCopy .Values.config -}}
{{- if not (include "spotfit.extenderOn" .) -}}
{{- $ext := get $cfg "extender" | default dict -}}
{{- $_ := set $ext "enabled" false -}}
{{- $_ := set $cfg "extender" $ext -}}
{{- end -}}
{{- if .Values.scheduler.secondScheduler.enabled -}}
{{- $wh := get $cfg "webhook" | default dict -}}
{{- $_ := set $wh "schedulerName" .Values.scheduler.secondScheduler.schedulerName -}}
{{- $_ := set $cfg "webhook" $wh -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* base64 PEM of the CA that signed the serving certificate, for the webhook and the second scheduler;
empty with cert-manager (its CA injector fills the webhook; the scheduler then needs mode secret). */}}
{{- define "spotfit.caBundle" -}}
{{- if eq .Values.tls.mode "secret" -}}
{{- required "tls.caBundle is required with tls.mode=secret (base64 of the CA PEM, spotfit certs writes ca-bundle.b64)" .Values.tls.caBundle -}}
{{- else if eq .Values.tls.mode "selfSigned" -}}
{{- (include "spotfit.selfSigned" . | fromYaml).ca -}}
{{- end -}}
{{- end -}}

{{/* tls.mode=selfSigned: the Secret's current content when it exists (upgrades keep the certificate), else
a new CA and serving certificate. Memoised per render so the Secret and caBundle agree. */}}
{{- define "spotfit.selfSigned" -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace .Values.tls.secretName -}}
{{- if and $existing (index ($existing.data | default dict) "ca.crt") -}}
ca: {{ index $existing.data "ca.crt" }}
crt: {{ index $existing.data "tls.crt" }}
key: {{ index $existing.data "tls.key" }}
{{- else -}}
{{- if not (hasKey .Values "__spotfitSelfSigned") -}}
{{- $svc := printf "spotfit.%s.svc" .Release.Namespace -}}
{{- $ca := genCA "spotfit-ca" (int .Values.tls.selfSigned.validityDays) -}}
{{- $cert := genSignedCert $svc nil (list $svc (printf "spotfit.%s" .Release.Namespace) "spotfit" (printf "%s.cluster.local" $svc)) (int .Values.tls.selfSigned.validityDays) $ca -}}
{{- $_ := set .Values "__spotfitSelfSigned" (dict "ca" ($ca.Cert | b64enc) "crt" ($cert.Cert | b64enc) "key" ($cert.Key | b64enc)) -}}
{{- end -}}
{{- toYaml .Values.__spotfitSelfSigned -}}
{{- end -}}
{{- end -}}

{{/* KubeSchedulerConfiguration of the second scheduler (manifests/scheduler/second-scheduler/scheduler-config.yaml). */}}
{{- define "spotfit.schedulerConfig" -}}
{{- $svc := printf "spotfit.%s.svc" .Release.Namespace -}}
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: ""
  qps: 500
  burst: 1000
leaderElection:
  leaderElect: true
  resourceNamespace: {{ .Release.Namespace }}
  resourceName: spotfit-scheduler
profiles:
  - schedulerName: {{ .Values.scheduler.secondScheduler.schedulerName }}
    pluginConfig:
      - name: NodeResourcesFit
        args:
          scoringStrategy:
            type: MostAllocated
            resources:
              - name: cpu
                weight: 1
              - name: memory
                weight: 1
              - name: nvidia.com/gpu
                weight: 3
extenders:
  - urlPrefix: https://{{ $svc }}:8443/extender
    filterVerb: filter
    prioritizeVerb: prioritize
    weight: 5
    nodeCacheCapable: true
    enableHTTPS: true
    tlsConfig:
      serverName: {{ $svc }}
      {{- if eq .Values.tls.mode "secret" }}
      caData: {{ include "spotfit.caBundle" . }}
      {{- else }}
      caFile: /etc/spotfit-scheduler/ca/ca.crt
      {{- end }}
    httpTimeout: 2s
    ignorable: true
{{- end -}}
