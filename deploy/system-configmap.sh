#!/usr/bin/env bash
# Prints the ConfigMap gxl-system: the system folder (sys/, with its
# fetched modules sys/mods/ and sys/mod_list.lock when present) as one
# gzipped tar, which the Deployment unpacks and operates.
#   deploy/system-configmap.sh [ROOT] | kubectl apply -f -
# ROOT (default .) is the folder that holds sys/. Fails when the archive
# would not fit a ConfigMap (1 MiB, with room for the rest of the object).
set -euo pipefail
root=${1:-.}
[ -f "$root/sys/workflows/operators.gxl" ] || { echo "system-configmap.sh: $root/sys/workflows/operators.gxl not found (give the folder that holds sys/)" >&2; exit 2; }
tgz=$(mktemp)
trap 'rm -f "$tgz"' EXIT
tar -C "$root" --exclude=.gxl -czf "$tgz" sys
size=$(stat -c %s "$tgz")
if [ "$size" -gt 700000 ]; then
  echo "system-configmap.sh: the system is $size bytes gzipped, more than a ConfigMap holds once base64-encoded: ship it in the image instead" >&2
  exit 1
fi
cat <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: gxl-system
  namespace: gxl
  labels:
    app.kubernetes.io/name: gxl-operator
binaryData:
  system.tar.gz: $(base64 -w0 "$tgz")
YAML
