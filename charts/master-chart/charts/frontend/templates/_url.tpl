{{- define "frontend.apiUrl" -}}
{{- default "http://api:9898" .Values.apiUrl | trimSuffix "/" -}}
{{- end -}}
