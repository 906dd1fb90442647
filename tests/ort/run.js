#!/usr/bin/env node
'use strict';
// Runs an ONNX model in ONNX Runtime (CPU EP) on .npy inputs and writes every
// graph output as DIR/<output_name>.npy.
//
//   node run.js MODEL.onnx --input NAME=FILE.npy [--input ...] --output-dir DIR
//               [--threads N] [--opt-level all|extended|basic|disabled]
//
// --input FILE.npy without NAME= feeds the model's inputs in declaration order.
// Characters of an output name outside [A-Za-z0-9._-] become '_' in the file name.
// --threads sets intraOpNumThreads (default 1); interOpNumThreads is 1.
// Exit status: 0 on success, 1 on an ORT or file error, 2 on bad arguments.

const fs = require('fs');
const path = require('path');
const { readNpy, writeNpy } = require('./npy');

function usage(msg) {
  if (msg) process.stderr.write(`run.js: ${msg}\n`);
  process.stderr.write('usage: node run.js MODEL.onnx --input NAME=FILE.npy [...] --output-dir DIR ' +
    '[--threads N] [--opt-level all|extended|basic|disabled]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const a = { model: null, inputs: [], outputDir: null, threads: 1, optLevel: 'all' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--input' || arg === '-i') {
      const v = next();
      const eq = v.indexOf('=');
      a.inputs.push(eq > 0 ? { name: v.slice(0, eq), file: v.slice(eq + 1) } : { name: null, file: v });
    } else if (arg === '--output-dir' || arg === '-o') {
      a.outputDir = next();
    } else if (arg === '--threads') {
      a.threads = Number(next());
      if (!Number.isInteger(a.threads) || a.threads < 0) usage('--threads needs an integer >= 0');
    } else if (arg === '--opt-level') {
      a.optLevel = next();
      if (!['all', 'extended', 'basic', 'disabled'].includes(a.optLevel)) usage(`bad --opt-level ${a.optLevel}`);
    } else if (arg === '-h' || arg === '--help') {
      usage();
    } else if (arg.startsWith('-')) {
      usage(`unknown option ${arg}`);
    } else if (a.model === null) {
      a.model = arg;
    } else {
      usage(`unexpected argument ${arg}`);
    }
  }
  if (!a.model) usage('no model given');
  if (!a.outputDir) usage('--output-dir is required');
  return a;
}

function safeName(name) {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const ort = require('onnxruntime-node');
  const session = await ort.InferenceSession.create(args.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: args.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: args.optLevel,
  });

  const feeds = {};
  let positional = 0;
  for (const inp of args.inputs) {
    let name = inp.name;
    if (name === null) {
      if (positional >= session.inputNames.length) {
        throw new Error(`more inputs given than the model has (${session.inputNames.join(', ')})`);
      }
      name = session.inputNames[positional++];
    }
    if (!session.inputNames.includes(name)) {
      throw new Error(`${args.model}: no input named '${name}' (inputs: ${session.inputNames.join(', ')})`);
    }
    if (name in feeds) throw new Error(`input '${name}' given twice`);
    const v = readNpy(inp.file);
    const meta = (session.inputMetadata || []).find((m) => m.name === name);
    if (meta && meta.isTensor && meta.type && meta.type !== v.dtype) {
      throw new Error(`${inp.file}: dtype ${v.dtype} but input '${name}' is ${meta.type}`);
    }
    feeds[name] = new ort.Tensor(v.dtype, v.data, v.shape);
  }
  const missing = session.inputNames.filter((n) => !(n in feeds));
  if (missing.length) throw new Error(`no value for input(s): ${missing.join(', ')}`);

  const results = await session.run(feeds);
  fs.mkdirSync(args.outputDir, { recursive: true });
  for (const name of session.outputNames) {
    const t = results[name];
    const file = path.join(args.outputDir, safeName(name) + '.npy');
    writeNpy(file, { dtype: t.type, shape: t.dims.map(Number), data: t.data });
    process.stdout.write(`${name} -> ${file} [${t.dims.join(',')}] ${t.type}\n`);
  }
  await session.release();
}

main().catch((e) => {
  process.stderr.write(`run.js: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
