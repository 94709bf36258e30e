#!/bin/bash
# Build etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and kwok from Go modules only.
# usage: build-k8s-tools.sh [OUTDIR]   (default: ${XDG_CACHE_HOME:-~/.cache}/gxl/k8s/<versions>; skips the build
#        when OUTDIR/VERSIONS already matches). Prints the bin dir on its last line.
# Recipe from ../shared/real-components.md §1.2: a wrapper module outside the project, so the
# project never depends on k8s.io/kubernetes.
set -euo pipefail
K8S=${K8S:-v1.37.2}; ETCD=${ETCD:-v3.7.3}; KWOK=${KWOK:-v0.8.0}
DEFAULT_OUT="${XDG_CACHE_HOME:-$HOME/.cache}/gxl/k8s/k8s-$K8S-etcd-$ETCD-kwok-$KWOK"
OUT=$(mkdir -p "${1:-$DEFAULT_OUT}" && cd "${1:-$DEFAULT_OUT}" && pwd)
STAMP="k8s=$K8S etcd=$ETCD kwok=$KWOK go=$(go env GOVERSION)"
[ -f "$OUT/VERSIONS" ] && [ "$(cat "$OUT/VERSIONS")" = "$STAMP" ] && { echo "$OUT"; exit 0; }
echo "building Kubernetes test binaries into $OUT (about 8 minutes the first time)" >&2
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
SV=v0.${K8S#v1.}                      # staging modules: k8s.io/api etc. are tagged v0.MINOR.PATCH
MINOR=$(echo "$K8S" | cut -d. -f2)
export GOFLAGS=-mod=mod GOTOOLCHAIN=local

# 1. kube-apiserver & co: wrapper module; k8s.io/kubernetes's go.mod points every staging module at ./staging/...,
#    which does not exist in the module zip, so replace each one by its published version.
mkdir -p "$WORK/k8s" && cd "$WORK/k8s"
GOMOD=$(go mod download -json "k8s.io/kubernetes@$K8S" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
{ printf 'module local/k8stools\n\ngo %s\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$(go env GOVERSION | sed 's/^go//')" "$K8S"
  awk -v sv="$SV" '$2=="=>" && $3 ~ /^\.\/staging\// {print "\t" $1 " => " $1 " " sv}' "$GOMOD"
  printf ')\n'; } > go.mod
printf '//go:build tools\n\npackage tools\n\nimport (\n' > tools.go
for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' $c >> tools.go; done
printf ')\n' >> tools.go
go mod tidy >&2
LDF="-s -w -X k8s.io/component-base/version.gitVersion=$K8S -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$MINOR -X k8s.io/component-base/version.gitTreeState=clean"
go build -trimpath -ldflags="$LDF" -o "$OUT/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl

# 2. etcd: go.etcd.io/etcd/server/v3 is the etcd main package; its go.mod replaces api/client/pkg with ../ paths, so pin them.
mkdir -p "$WORK/etcd" && cd "$WORK/etcd"
printf 'module local/etcdtools\n\ngo 1.26.0\n\nrequire (\n' > go.mod
for m in server/v3 api/v3 client/pkg/v3 client/v3 pkg/v3; do printf '\tgo.etcd.io/etcd/%s %s\n' $m "$ETCD" >> go.mod; done
printf ')\n' >> go.mod
printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > tools.go
go mod tidy >&2
go build -trimpath -ldflags="-s -w" -o "$OUT/etcd" go.etcd.io/etcd/server/v3

# 3. kwok (stand-in kubelet): its go.mod has no replace directives, so go install works directly
GOFLAGS= GOBIN="$OUT" go install -trimpath -ldflags="-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK"
echo "$STAMP" > "$OUT/VERSIONS"
echo "$OUT"
