// Package editors holds the tests of the editor support outside Go:
// editors/vscode's TextMate grammar, tokenised with vscode-textmate and
// vscode-oniguruma exactly as VS Code does (Node.js; the npm packages are
// installed into the user cache by scripts/install-npm-tools.sh), and the
// JSON Schemas of schemas/ against the system loader. It has no code of
// its own: see docs/editors.md.
package editors
