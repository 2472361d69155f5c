// The wire decoder: turns the view's one binary message (b"DVW1", a uint32 header length, a JSON
// header whose arrays are references {"$b": name, "shape"}, then the raw little-endian buffers;
// see ui/descent_view.py) into a header with typed arrays, and Plotly's {dtype, bdata} arrays too.

const DTYPES = {
  f4: Float32Array, f8: Float64Array,
  i1: Int8Array, u1: Uint8Array, u1c: Uint8ClampedArray,
  i2: Int16Array, u2: Uint16Array, i4: Int32Array, u4: Uint32Array,
};

// Plotly's JSON encodes numeric arrays as {dtype, bdata: base64}; slicing needs real arrays.
function decodeArray(value) {
  if (value == null || Array.isArray(value) || ArrayBuffer.isView(value)) return value;
  if (typeof value === "object" && typeof value.bdata === "string") {
    const Ctor = DTYPES[value.dtype];
    if (!Ctor) throw new Error(`unsupported typed-array dtype ${value.dtype}`);
    const bin = atob(value.bdata);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Ctor(bytes.buffer);
  }
  return value;
}

// Plotly's shape string for a typed array: "K, ny, nx" -> [K, ny, nx].
function parseShape(shape, length) {
  if (Array.isArray(shape)) return shape.map(Number);
  if (typeof shape === "string") return shape.split(",").map((v) => Number(v.trim()));
  return [length];
}

// --- The binary message ------------------------------------------------------------------------

function unpack(data) {
  if (!(data instanceof Uint8Array) && !(data instanceof ArrayBuffer)) return { header: data, arrays: {} };
  const bytes = new Uint8Array(data);  // a copy: aligned at 0 whatever the protobuf's offset
  const magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (magic !== "DVW1") throw new Error("the view's data is not a DVW1 message");
  const length = new DataView(bytes.buffer).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  const base = 8 + length + ((8 - ((8 + length) % 8)) % 8);
  const arrays = {};
  for (const [name, [offset, size, dtype]] of Object.entries(header.buffers || {})) {
    const Ctor = DTYPES[dtype];
    arrays[name] = new Ctor(bytes.buffer, base + offset, size / Ctor.BYTES_PER_ELEMENT);
  }
  return { header, arrays };
}

// References → typed arrays; a 2-D array becomes rows (what Plotly takes for a surface's z).
function revive(value, arrays) {
  if (Array.isArray(value)) return value.map((v) => revive(v, arrays));
  if (value && typeof value === "object" && !ArrayBuffer.isView(value)) {
    if (typeof value.$b === "string") {
      const flat = arrays[value.$b];
      if (!flat) throw new Error(`missing buffer ${value.$b}`);
      const shape = value.shape || [flat.length];
      if (shape.length === 2 && !value.flat) {
        const rows = [];
        for (let r = 0; r < shape[0]; r++) rows.push(flat.subarray(r * shape[1], (r + 1) * shape[1]));
        return rows;
      }
      if (shape.length > 2) flat.shape = shape;  // frames (K × ny × nx) are cut by their shape
      return flat;
    }
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = revive(v, arrays);
    return out;
  }
  return value;
}

function flatRef(ref, arrays) {
  return arrays[ref.$b];
}
