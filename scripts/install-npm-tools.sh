#!/usr/bin/env bash
# Installs the npm packages the editor tests need (vscode-textmate and
# vscode-oniguruma, to tokenise GXL with editors/vscode's grammar) into the
# user cache, keyed by their versions, only when missing; never inside the
# clone. Prints the folder whose node_modules holds them.
# Used by internal/editors's tests and `make deps`.
set -euo pipefail
pkgs=(vscode-textmate@9.3.2 vscode-oniguruma@2.0.1)
key=$(printf '%s\n' "${pkgs[@]}" | sha256sum | cut -c1-16)
root="${XDG_CACHE_HOME:-$HOME/.cache}/gxl/npm"
dir="$root/$key"
if [ ! -f "$dir/.complete" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "npm not found: run ./scripts/install-deps.sh (installs nodejs and npm)" >&2
    exit 1
  fi
  mkdir -p "$root"
  # Install beside the final folder and rename it into place: a test
  # running at the same time never sees half a node_modules.
  tmp=$(mktemp -d "$dir.tmp.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "installing ${pkgs[*]} into $dir" >&2
  npm install --prefix "$tmp" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "${pkgs[@]}" >&2
  touch "$tmp/.complete"
  if ! mv -T "$tmp" "$dir" 2>/dev/null; then
    [ -f "$dir/.complete" ] || { echo "cannot move $tmp to $dir" >&2; exit 1; }
  fi
fi
echo "$dir"
