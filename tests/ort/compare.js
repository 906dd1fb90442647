#!/usr/bin/env node
'use strict';
// Compares two .npy files elementwise:  |a - b| <= atol + rtol * |b|
//
//   node compare.js EXPECTED.npy ACTUAL.npy [--atol 1e-4] [--rtol 0]
//
// Prints one line with the max abs/rel difference; exit 0 when within
// tolerance, 1 when not (or shapes/dtypes differ), 2 on bad arguments.
// Integer and bool arrays must match exactly; NaN equals NaN.

const { readNpy } = require('./npy');

function main() {
  const argv = process.argv.slice(2);
  const files = [];
  let atol = 1e-4;
  let rtol = 0;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--atol') atol = Number(argv[++i]);
    else if (argv[i] === '--rtol') rtol = Number(argv[++i]);
    else files.push(argv[i]);
  }
  if (files.length !== 2 || !(atol >= 0) || !(rtol >= 0)) {
    process.stderr.write('usage: node compare.js EXPECTED.npy ACTUAL.npy [--atol A] [--rtol R]\n');
    return 2;
  }
  const [e, a] = files.map(readNpy);
  if (e.shape.join(',') !== a.shape.join(',')) {
    console.log(`FAIL shape [${a.shape}] != expected [${e.shape}]`);
    return 1;
  }
  const isFloat = (d) => d === 'float32' || d === 'float64';
  if (isFloat(e.dtype) !== isFloat(a.dtype)) {
    console.log(`FAIL dtype ${a.dtype} != expected ${e.dtype}`);
    return 1;
  }
  let maxAbs = 0;
  let maxRel = 0;
  let bad = 0;
  let firstBad = -1;
  for (let i = 0; i < e.data.length; i++) {
    const x = Number(e.data[i]);
    const y = Number(a.data[i]);
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    const d = Math.abs(x - y);
    const ok = isFloat(e.dtype) ? d <= atol + rtol * Math.abs(x) : d === 0;
    if (!(d <= maxAbs)) maxAbs = d; // NaN propagates
    if (x !== 0 && d / Math.abs(x) > maxRel) maxRel = d / Math.abs(x);
    if (!ok) {
      if (firstBad < 0) firstBad = i;
      bad++;
    }
  }
  const stats = `max_abs ${maxAbs.toExponential(3)} max_rel ${maxRel.toExponential(3)} ` +
    `(${e.data.length} elements, atol ${atol}, rtol ${rtol})`;
  if (bad) {
    console.log(`FAIL ${bad} mismatches, first at ${firstBad}: expected ${e.data[firstBad]} got ` +
      `${a.data[firstBad]}; ${stats}`);
    return 1;
  }
  console.log(`OK ${stats}`);
  return 0;
}

try {
  process.exit(main());
} catch (err) {
  process.stderr.write(`compare.js: ${err.message}\n`);
  process.exit(1);
}
