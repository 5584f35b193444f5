// Pure. Protobuf's wire format, as much as the rivals bench's etcd client needs: varints (int64
// as two's complement, so up to 10 bytes), length-delimited fields, and a walk over a message's
// top-level fields. Bad input throws a RangeError.

/** varint encodes an integer field's value (negative int64s take 10 bytes, as protobuf has it). */
export function varint(value: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, value);
  for (let i = 0; i < 10; i++) {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    if (v === 0n) {
      out.push(low);
      return out;
    }
    out.push(low | 0x80);
  }
  throw new RangeError('varint longer than 10 bytes');
}

/** bytesField encodes a length-delimited field (bytes, string or an embedded message). */
export function bytesField(field: number, value: Uint8Array): number[] {
  return [...varint(BigInt((field << 3) | 2)), ...varint(BigInt(value.length)), ...value];
}

/** intField encodes a varint field (int64, uint64, int32 with a non-negative value). */
export function intField(field: number, value: bigint): number[] {
  return [...varint(BigInt(field << 3)), ...varint(value)];
}

/** MAX_FIELDS bounds a walk: the messages read here have a handful. */
const MAX_FIELDS = 1000;

/** fields walks a message's top-level fields: varints as bigint, length-delimited ones as bytes. */
export function fields(buf: Buffer): Map<number, bigint | Buffer> {
  const out = new Map<number, bigint | Buffer>();
  let at = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (at >= buf.length) throw new RangeError('truncated protobuf varint');
      const b = buf[at++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new RangeError('protobuf varint longer than 10 bytes');
  };
  for (let count = 0; at < buf.length; count++) {
    if (count === MAX_FIELDS) throw new RangeError(`more than ${MAX_FIELDS} protobuf fields`);
    const key = Number(readVarint());
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === 0) out.set(field, readVarint());
    else if (wire === 2) {
      const length = Number(readVarint());
      if (at + length > buf.length) throw new RangeError('truncated protobuf field');
      out.set(field, buf.subarray(at, at + length));
      at += length;
    } else throw new RangeError(`unexpected protobuf wire type ${wire}`);
  }
  return out;
}
