/**
 * Where an interrupted training run stands after its last finished epoch, and its stored form: the project
 * keeps it so that a cancelled (or crashed) run goes on from there and ends exactly as the uninterrupted run
 * would have (same parameters, momentum, random stream and best epoch so far).
 */
import type { LastBlockWeights } from '../backbones/tfjs-to-onnx';
import { type AdapterWeights, decodeAdapter, encodeAdapter } from './adapter';
import type { EpochRecord } from './trainer';

/** An epoch loop after `epoch` finished epochs: their records and the best snapshot so far. */
export interface EpochLoopState<T> {
  epoch: number;
  history: EpochRecord[];
  best: T;
  /** The best snapshot's validation CA (-Infinity before any, NaN-free). */
  bestCa: number;
  bestEpoch: number;
}

/** A trainer's whole state after a finished epoch. The arrays are the trainer's own: encode them before it goes on. */
export interface TrainerState<T> {
  loop: EpochLoopState<T>;
  parameters: Record<string, Float32Array>;
  /** SGD momentum buffers, by parameter name. */
  velocities: Record<string, Float32Array>;
  /** The episode sampler's random stream (`SeededRandom.state`). */
  random: number;
}

/** How a snapshot type is stored. */
export interface Codec<T> {
  encode(value: T): Buffer;
  decode(buffer: Buffer): T;
}

const PACK_FORMAT = 'specimen-sorter-pack-1';

/**
 * One buffer of a JSON header and named binary parts, each starting on a 4-byte boundary so float arrays can
 * be read in place of copies.
 *
 * unpackParts(packParts({ epoch: 3 }, { w: new Float32Array([1, 2]) })) // { header: { epoch: 3 }, parts: { w: <Buffer 8 bytes> } }
 */
export function packParts(header: object, parts: Record<string, Uint8Array>): Buffer {
  const names = Object.keys(parts);
  const text = Buffer.from(`${JSON.stringify({ format: PACK_FORMAT, header, parts: names.map((name) => [name, parts[name]!.byteLength]) })}\n`, 'utf8');
  const chunks: Uint8Array[] = [text, Buffer.alloc((4 - (text.length % 4)) % 4, 0x20)];
  for (const name of names) {
    const part = parts[name]!;
    chunks.push(part, Buffer.alloc((4 - (part.byteLength % 4)) % 4));
  }
  return Buffer.concat(chunks);
}

/** Reads what `packParts` wrote. */
export function unpackParts(buffer: Buffer): { header: Record<string, unknown>; parts: Record<string, Buffer> } {
  const newline = buffer.indexOf(0x0a);
  const parsed = newline < 0 ? null : (JSON.parse(buffer.subarray(0, newline).toString('utf8')) as { format?: string; header: Record<string, unknown>; parts: [string, number][] });
  if (parsed?.format !== PACK_FORMAT) throw new Error('The stored training state is not in a format this version reads; start a new training run.');
  let offset = newline + 1;
  offset += (4 - (offset % 4)) % 4;
  const parts: Record<string, Buffer> = {};
  for (const [name, bytes] of parsed.parts) {
    parts[name] = buffer.subarray(offset, offset + bytes);
    offset += bytes + ((4 - (bytes % 4)) % 4);
  }
  return { header: parsed.header, parts };
}

/** The bytes of a float array (a view, not a copy). */
export function floatBytes(array: Float32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/** A float array copied out of stored bytes. */
export function bytesToFloats(bytes: Uint8Array): Float32Array {
  const array = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(array.buffer).set(bytes);
  return array;
}

/** Epoch records with their NaNs (no validation species, pairwise losses) stored as null, which JSON keeps. */
export function encodeHistory(history: readonly EpochRecord[]): unknown[] {
  return history.map((record) => Object.fromEntries(Object.entries(record).map(([key, value]) => [key, Number.isFinite(value) ? value : null])));
}

/** Reads `encodeHistory`'s records back. */
export function decodeHistory(stored: unknown): EpochRecord[] {
  return (stored as Record<string, number | null>[]).map((record) => {
    const field = (key: keyof EpochRecord) => record[key] ?? Number.NaN;
    return { epoch: field('epoch'), loss: field('loss'), accuracy: field('accuracy'), validationCa: field('validationCa'), learningRate: field('learningRate'), seconds: field('seconds') };
  });
}

/** Stores a trainer's state with its best snapshot in `codec`'s form. */
export function encodeTrainerState<T>(state: TrainerState<T>, codec: Codec<T>): Buffer {
  const { loop } = state;
  const parts: Record<string, Uint8Array> = { best: codec.encode(loop.best) };
  for (const [name, values] of Object.entries(state.parameters)) parts[`parameter:${name}`] = floatBytes(values);
  for (const [name, values] of Object.entries(state.velocities)) parts[`velocity:${name}`] = floatBytes(values);
  const header = {
    epoch: loop.epoch,
    history: encodeHistory(loop.history),
    bestCa: Number.isFinite(loop.bestCa) ? loop.bestCa : null,
    bestEpoch: loop.bestEpoch,
    random: state.random,
  };
  return packParts(header, parts);
}

/** Reads a state written by `encodeTrainerState`. */
export function decodeTrainerState<T>(buffer: Buffer, codec: Codec<T>): TrainerState<T> {
  const { header, parts } = unpackParts(buffer);
  const parameters: Record<string, Float32Array> = {};
  const velocities: Record<string, Float32Array> = {};
  for (const [name, bytes] of Object.entries(parts)) {
    if (name.startsWith('parameter:')) parameters[name.slice('parameter:'.length)] = bytesToFloats(bytes);
    if (name.startsWith('velocity:')) velocities[name.slice('velocity:'.length)] = bytesToFloats(bytes);
  }
  return {
    loop: {
      epoch: header.epoch as number,
      history: decodeHistory(header.history),
      best: codec.decode(parts.best!),
      bestCa: (header.bestCa as number | null) ?? -Infinity,
      bestEpoch: header.bestEpoch as number,
    },
    parameters,
    velocities,
    random: header.random as number,
  };
}

/**
 * Puts stored arrays back into a trainer's own (same names and lengths), so the run goes on with them; throws
 * when they do not fit, which means the stored state belongs to another model or setting.
 */
export function restoreArrays(into: Record<string, Float32Array>, stored: Record<string, Float32Array>): void {
  for (const [name, values] of Object.entries(into)) {
    const saved = stored[name];
    if (!saved || saved.length !== values.length) {
      throw new Error(`The stored training state does not fit this model (${name}: ${saved?.length ?? 'missing'} values, ${values.length} expected); start a new training run.`);
    }
    values.set(saved);
  }
}

/** Adapter snapshots, stored as checkpoints store them. */
export const ADAPTER_CODEC: Codec<AdapterWeights> = { encode: encodeAdapter, decode: decodeAdapter };

/** Last-block snapshots. */
export const BLOCK_CODEC: Codec<LastBlockWeights> = {
  encode: (block) => packParts({ inputs: block.inputs, outputs: block.outputs, activation: block.activation }, { weight: floatBytes(block.weight), bias: floatBytes(block.bias) }),
  decode: (buffer) => {
    const { header, parts } = unpackParts(buffer);
    return {
      inputs: header.inputs as number,
      outputs: header.outputs as number,
      activation: header.activation as LastBlockWeights['activation'],
      weight: bytesToFloats(parts.weight!),
      bias: bytesToFloats(parts.bias!),
    };
  },
};
