import { describe, expect, it } from 'vitest';
import { bytesField, fields, intField, varint } from '../../bench/protobufWire.ts';

describe('protobufWire (the rivals bench etcd client)', () => {
  it('encodes the wire format examples: varint 150, a varint field, a string field', () => {
    expect(varint(150n)).toEqual([0x96, 0x01]);
    expect(intField(1, 150n)).toEqual([0x08, 0x96, 0x01]);
    expect(bytesField(2, Buffer.from('testing'))).toEqual([0x12, 0x07, ...Buffer.from('testing')]);
  });

  it('writes a negative int64 as ten bytes of two\'s complement', () => {
    expect(varint(-1n)).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(BigInt.asIntN(64, fields(Buffer.from(intField(2, -1n))).get(2) as bigint)).toBe(-1n);
  });

  it('reads back int64s beyond 2^53 and bytes fields, last occurrence winning', () => {
    const lease = 7587869453524453379n;
    const message = Buffer.from([...bytesField(1, Buffer.from([1, 2, 3])), ...intField(2, lease), ...intField(3, 0n), ...intField(3, 5n)]);
    const read = fields(message);
    expect([...(read.get(1) as Buffer)]).toEqual([1, 2, 3]);
    expect(read.get(2)).toBe(lease);
    expect(read.get(3)).toBe(5n);
  });

  it('refuses truncated input and wire types it does not read, with a RangeError', () => {
    expect(() => fields(Buffer.from([0x08, 0x96]))).toThrow(RangeError);
    expect(() => fields(Buffer.from([0x12, 0x07, 0x74]))).toThrow(/truncated protobuf field/);
    expect(() => fields(Buffer.from([0x0d, 0, 0, 0, 0]))).toThrow(/wire type 5/);
    expect(() => fields(Buffer.from(Array(11).fill(0xff)))).toThrow(/longer than 10 bytes/);
  });
});
