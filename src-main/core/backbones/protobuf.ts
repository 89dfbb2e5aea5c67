/**
 * A minimal Protocol Buffers wire-format reader and writer: just enough to read and extend ONNX models
 * without a generated schema. Field values stay as byte ranges, so unknown fields pass through untouched.
 */

/** One field as it appears on the wire. Length-delimited fields keep a view of their bytes. */
export type WireField =
  | { field: number; wireType: 0; value: bigint }
  | { field: number; wireType: 1 | 5; bytes: Uint8Array }
  | { field: number; wireType: 2; bytes: Uint8Array };

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

function readVarint(bytes: Uint8Array, start: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  let position = start;
  for (;;) {
    if (position >= bytes.length) throw new Error('Truncated protobuf varint');
    const byte = bytes[position++]!;
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result, position];
    shift += 7n;
  }
}

/** Splits a message into its fields, in wire order. */
export function readFields(bytes: Uint8Array): WireField[] {
  const fields: WireField[] = [];
  let position = 0;
  while (position < bytes.length) {
    const [key, afterKey] = readVarint(bytes, position);
    position = afterKey;
    const field = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (wireType === 0) {
      const [value, next] = readVarint(bytes, position);
      fields.push({ field, wireType, value });
      position = next;
    } else if (wireType === 2) {
      const [length, next] = readVarint(bytes, position);
      const end = next + Number(length);
      if (end > bytes.length) throw new Error('Truncated protobuf field');
      fields.push({ field, wireType, bytes: bytes.subarray(next, end) });
      position = end;
    } else if (wireType === 1 || wireType === 5) {
      const size = wireType === 1 ? 8 : 4;
      fields.push({ field, wireType, bytes: bytes.subarray(position, position + size) });
      position += size;
    } else {
      throw new Error(`Unsupported protobuf wire type ${wireType}`);
    }
  }
  return fields;
}

/** Reads a length-delimited field as UTF-8 text. */
export function fieldText(field: WireField): string {
  if (field.wireType !== 2) throw new Error(`Field ${field.field} is not length-delimited`);
  return textDecoder.decode(field.bytes);
}

function encodeVarint(value: bigint | number): number[] {
  let remaining = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    let byte = Number(remaining & 0x7fn);
    remaining >>= 7n;
    if (remaining !== 0n) byte |= 0x80;
    out.push(byte);
  } while (remaining !== 0n);
  return out;
}

/** Builds a message field by field. */
export class MessageWriter {
  #chunks: Uint8Array[] = [];

  /** Appends a varint field (int32, int64, enum, bool). */
  varint(field: number, value: bigint | number): this {
    this.#chunks.push(Uint8Array.from([...encodeVarint((field << 3) | 0), ...encodeVarint(value)]));
    return this;
  }

  /** Appends a length-delimited field from raw bytes (a nested message or bytes). */
  bytes(field: number, value: Uint8Array): this {
    this.#chunks.push(Uint8Array.from([...encodeVarint((field << 3) | 2), ...encodeVarint(value.length)]));
    this.#chunks.push(value);
    return this;
  }

  /** Appends a UTF-8 string field. */
  text(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  /** Appends a nested message. */
  message(field: number, build: (writer: MessageWriter) => void): this {
    const nested = new MessageWriter();
    build(nested);
    return this.bytes(field, nested.finish());
  }

  /** Re-emits a field read by `readFields` unchanged. */
  raw(field: WireField): this {
    if (field.wireType === 0) return this.varint(field.field, field.value);
    if (field.wireType === 2) return this.bytes(field.field, field.bytes);
    this.#chunks.push(Uint8Array.from(encodeVarint((field.field << 3) | field.wireType)));
    this.#chunks.push(field.bytes);
    return this;
  }

  /** The encoded message. */
  finish(): Uint8Array {
    const length = this.#chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    const out = new Uint8Array(length);
    let offset = 0;
    for (const chunk of this.#chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}
