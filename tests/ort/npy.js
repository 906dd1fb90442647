'use strict';
// Minimal NumPy .npy reader/writer (format 1.0/2.0/3.0, C order, little-endian).
// dtypes: float32 <f4, float64 <f8, int64 <i8, int32 <i4, int8 |i1, uint8 |u1, bool |b1.
// A value is { dtype, shape, data } with dtype an ONNX Runtime tensor type name
// ('float32', 'float64', 'int64', 'int32', 'int8', 'uint8', 'bool') and data the
// typed array ORT uses for it (BigInt64Array for int64, Uint8Array for bool).

const fs = require('fs');
const os = require('os');

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

const DTYPES = {
  float32: { descr: '<f4', size: 4, Array: Float32Array },
  float64: { descr: '<f8', size: 8, Array: Float64Array },
  int64: { descr: '<i8', size: 8, Array: BigInt64Array },
  int32: { descr: '<i4', size: 4, Array: Int32Array },
  int8: { descr: '|i1', size: 1, Array: Int8Array },
  uint8: { descr: '|u1', size: 1, Array: Uint8Array },
  bool: { descr: '|b1', size: 1, Array: Uint8Array },
};

const DESCR_TO_DTYPE = {};
for (const [name, d] of Object.entries(DTYPES)) {
  DESCR_TO_DTYPE[d.descr] = name;
}
// Single-byte types may carry either byte-order mark.
for (const c of ['i1', 'u1', 'b1']) {
  DESCR_TO_DTYPE['<' + c] = DESCR_TO_DTYPE['|' + c];
  DESCR_TO_DTYPE['=' + c] = DESCR_TO_DTYPE['|' + c];
}
if (os.endianness() !== 'LE') {
  throw new Error('npy.js: big-endian hosts are not supported');
}

function numel(shape) {
  return shape.reduce((a, b) => a * b, 1);
}

function parseHeader(text, source) {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) {
    throw new Error(`${source}: malformed .npy header: ${text.trim()}`);
  }
  if (fortran[1] === 'True') {
    throw new Error(`${source}: Fortran-ordered arrays are not supported`);
  }
  const dtype = DESCR_TO_DTYPE[descr[1]];
  if (!dtype) {
    throw new Error(`${source}: unsupported dtype '${descr[1]}' (expected one of ` +
      `${Object.values(DTYPES).map((d) => d.descr).join(', ')})`);
  }
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0).map((s) => {
    if (!/^\d+$/.test(s)) throw new Error(`${source}: bad shape entry '${s}'`);
    return Number(s);
  });
  return { dtype, shape: dims };
}

function decodeNpy(buf, source = '<buffer>') {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) {
    throw new Error(`${source}: not a .npy file (bad magic)`);
  }
  const major = buf[6];
  let headerLen;
  let offset;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    offset = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new Error(`${source}: truncated .npy header`);
    headerLen = buf.readUInt32LE(8);
    offset = 12;
  } else {
    throw new Error(`${source}: unsupported .npy format version ${major}.${buf[7]}`);
  }
  if (offset + headerLen > buf.length) throw new Error(`${source}: truncated .npy header`);
  const header = buf.subarray(offset, offset + headerLen).toString(major === 3 ? 'utf8' : 'latin1');
  const { dtype, shape } = parseHeader(header, source);
  const d = DTYPES[dtype];
  const n = numel(shape);
  const start = offset + headerLen;
  const nbytes = n * d.size;
  if (buf.length - start < nbytes) {
    throw new Error(`${source}: data too short: ${buf.length - start} bytes for ${n} x ${d.descr}`);
  }
  // Copy into a fresh, aligned ArrayBuffer.
  const ab = new ArrayBuffer(nbytes);
  new Uint8Array(ab).set(buf.subarray(start, start + nbytes));
  const data = new d.Array(ab);
  if (dtype === 'bool') {
    for (let i = 0; i < n; i++) data[i] = data[i] ? 1 : 0;
  }
  return { dtype, shape, data };
}

function readNpy(path) {
  return decodeNpy(fs.readFileSync(path), path);
}

function encodeNpy(value) {
  const { dtype, shape } = value;
  const d = DTYPES[dtype];
  if (!d) throw new Error(`npy: cannot write dtype '${dtype}'`);
  const n = numel(shape);
  let data = value.data;
  if (data.length !== n) {
    throw new Error(`npy: ${data.length} elements for shape [${shape.join(',')}]`);
  }
  if (dtype === 'bool' && !(data instanceof Uint8Array)) {
    data = Uint8Array.from(data, (x) => (x ? 1 : 0));
  } else if (!(data instanceof d.Array)) {
    data = d.Array.from(data);
  }
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${d.descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Pad so that magic + version + length + header is a multiple of 64, ending in '\n'.
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  let pre;
  if (header.length <= 0xffff) {
    pre = Buffer.alloc(10);
    MAGIC.copy(pre, 0);
    pre[6] = 1;
    pre[7] = 0;
    pre.writeUInt16LE(header.length, 8);
  } else {
    throw new Error('npy: header too long');
  }
  const body = Buffer.from(data.buffer, data.byteOffset, n * d.size);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), body]);
}

function writeNpy(path, value) {
  const tmp = `${path}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, encodeNpy(value));
  fs.renameSync(tmp, path);
}

module.exports = { readNpy, writeNpy, decodeNpy, encodeNpy, numel, DTYPES };
