// Tokenises files with a TextMate grammar, the way VS Code does
// (vscode-textmate over vscode-oniguruma), and prints one JSON object:
// {"path": [[{"t": text, "s": [scopes...]}, ...] per line], ...}.
// Usage: node tokenize.js GRAMMAR.json FILE...
// The Go tests (internal/editors) make the assertions.
'use strict';
const fs = require('fs');
const path = require('path');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

async function main() {
  const [grammarPath, ...files] = process.argv.slice(2);
  const wasm = fs.readFileSync(path.join(path.dirname(require.resolve('vscode-oniguruma')), 'onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    // Only the GXL grammar is known; an include of another language
    // (source.shell in cmd blocks) is skipped, as in an editor without it.
    loadGrammar: async (scopeName) => {
      if (scopeName !== 'source.gxl') return null;
      return vsctm.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath);
    },
  });
  const grammar = await registry.loadGrammar('source.gxl');
  const out = {};
  for (const file of files) {
    const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/);
    let stack = vsctm.INITIAL;
    out[file] = lines.map((line) => {
      const r = grammar.tokenizeLine(line, stack);
      stack = r.ruleStack;
      return r.tokens.map((tok) => ({ t: line.substring(tok.startIndex, tok.endIndex), s: tok.scopes }));
    });
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
