// The GXL extension: the grammar and the language configuration are
// declared in package.json; this file starts `gxl lsp` (stdio, no
// arguments) for .gxl files and the system's sys/*.yml files, with the
// program of the setting gxl.path. Plain JavaScript: nothing to build.
'use strict';
const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

let client;

function serverOptions() {
  const command = vscode.workspace.getConfiguration('gxl').get('path') || 'gxl';
  return { command, args: ['lsp'], transport: TransportKind.stdio };
}

async function start(context) {
  const clientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'gxl' },
      { scheme: 'untitled', language: 'gxl' },
      { scheme: 'file', language: 'yaml', pattern: '**/sys/{sys_model,mod_list,vars}.yml' },
    ],
    synchronize: {
      fileEvents: vscode.workspace.createFileSystemWatcher('**/{*.gxl,sys/*.yml}'),
    },
    outputChannelName: 'GXL',
  };
  client = new LanguageClient('gxl', 'GXL language server', serverOptions(), clientOptions);
  try {
    await client.start();
  } catch (err) {
    const path = serverOptions().command;
    vscode.window.showErrorMessage(
      `GXL: cannot start \`${path} lsp\` (${err && err.message ? err.message : err}). ` +
        'Install gxl (make install) or set gxl.path to the gxl program.'
    );
  }
}

async function stop() {
  if (client) {
    const c = client;
    client = undefined;
    await c.stop();
  }
}

function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand('gxl.restartServer', async () => {
      await stop();
      await start(context);
    }),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (e.affectsConfiguration('gxl.path')) {
        await stop();
        await start(context);
      }
    })
  );
  return start(context);
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate };
