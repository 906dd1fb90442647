#!/usr/bin/env node
'use strict';
// Forward-pass latency of an ONNX model in ONNX Runtime (CPU EP, one thread).
//
//   node bench.js MODEL.onnx [--input-shape D0,D1,...] [--batch B] [--iters N]
//                 [--warmup W] [--seed S] [--opt-level all|extended|basic|disabled]
//
// The model must have one float32 input.  --input-shape is the full input
// shape; --batch B replaces its first dimension.  Without --input-shape the
// shape comes from the model, symbolic dimensions set to B (default 1).
// Inputs are uniform random in [-1, 1) from a fixed-seed generator.
// intraOpNumThreads = interOpNumThreads = 1, sequential execution,
// graph optimisation level "all".  Each timed run is one awaited
// session.run() (includes the N-API/async hand-off of onnxruntime-node).
// Prints one JSON object:
//   {"runtime":"onnxruntime-node","version":...,"model":...,"input_shape":[...],
//    "batch":B,"iters":N,"warmup":W,"median_us":...,"mean_us":...,"min_us":...,
//    "p10_us":...,"p90_us":...,"us_per_sample":...,"samples_per_s":...}

function usage(msg) {
  if (msg) process.stderr.write(`bench.js: ${msg}\n`);
  process.stderr.write('usage: node bench.js MODEL.onnx [--input-shape D0,D1,...] [--batch B] ' +
    '[--iters N] [--warmup W] [--seed S] [--opt-level LEVEL]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const a = { model: null, shape: null, batch: null, iters: 100, warmup: null, seed: 1, optLevel: 'all' };
  const int = (s, name, min) => {
    const v = Number(s);
    if (!Number.isInteger(v) || v < min) usage(`${name} needs an integer >= ${min}, got '${s}'`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--input-shape') a.shape = next().split(',').map((s) => int(s, '--input-shape', 1));
    else if (arg === '--batch') a.batch = int(next(), '--batch', 1);
    else if (arg === '--iters') a.iters = int(next(), '--iters', 1);
    else if (arg === '--warmup') a.warmup = int(next(), '--warmup', 0);
    else if (arg === '--seed') a.seed = int(next(), '--seed', 0);
    else if (arg === '--opt-level') a.optLevel = next();
    else if (arg === '-h' || arg === '--help') usage();
    else if (arg.startsWith('-')) usage(`unknown option ${arg}`);
    else if (a.model === null) a.model = arg;
    else usage(`unexpected argument ${arg}`);
  }
  if (!a.model) usage('no model given');
  if (a.warmup === null) a.warmup = Math.max(5, Math.min(50, Math.ceil(a.iters / 5)));
  return a;
}

// mulberry32: small deterministic PRNG.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function quantile(sorted, q) {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const ort = require('onnxruntime-node');
  const session = await ort.InferenceSession.create(args.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: args.optLevel,
  });
  if (session.inputNames.length !== 1) {
    throw new Error(`${args.model}: ${session.inputNames.length} inputs; bench.js handles one`);
  }
  const meta = (session.inputMetadata || [])[0];
  if (meta && meta.isTensor && meta.type && meta.type !== 'float32') {
    throw new Error(`${args.model}: input is ${meta.type}, bench.js feeds float32`);
  }
  let shape = args.shape;
  if (!shape) {
    if (!meta || !meta.shape || meta.shape.length === 0) {
      throw new Error(`${args.model}: input shape unknown; give --input-shape`);
    }
    shape = meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : (args.batch || 1)));
  }
  shape = shape.slice();
  if (args.batch !== null) shape[0] = args.batch;
  const batch = shape[0];

  const n = shape.reduce((x, y) => x * y, 1);
  const data = new Float32Array(n);
  const r = rng(args.seed);
  for (let i = 0; i < n; i++) data[i] = 2 * r() - 1;
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, shape) };

  for (let i = 0; i < args.warmup; i++) await session.run(feeds);
  const times = [];
  for (let i = 0; i < args.iters; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    const t1 = process.hrtime.bigint();
    times.push(Number(t1 - t0) / 1000);
  }
  await session.release();

  const sorted = times.slice().sort((x, y) => x - y);
  const median = quantile(sorted, 0.5);
  const mean = times.reduce((x, y) => x + y, 0) / times.length;
  const round = (x) => Math.round(x * 100) / 100;
  const out = {
    runtime: 'onnxruntime-node',
    version: ort.env.versions ? ort.env.versions.node : undefined,
    model: args.model,
    input_shape: shape,
    batch,
    iters: args.iters,
    warmup: args.warmup,
    threads: 1,
    median_us: round(median),
    mean_us: round(mean),
    min_us: round(sorted[0]),
    p10_us: round(quantile(sorted, 0.1)),
    p90_us: round(quantile(sorted, 0.9)),
    us_per_sample: round(median / batch),
    samples_per_s: round((batch * 1e6) / median),
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(`bench.js: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
