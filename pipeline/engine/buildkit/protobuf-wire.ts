// Protocol Buffers' wire format, as much of it as a build session's dozen messages need: varints (int32,
// uint32, int64, bool, enum), length-delimited fields (string, bytes, nested messages), and skipping what we
// do not read. Written by hand rather than through protobufjs: building protobufjs' types and its first
// encodes and decodes cost every build ~15 ms of a process that should have posted its build by then.
// Decoding follows proto3: a field absent is its zero value, a repeated field may come in any number of
// occurrences, an unknown field is skipped, and the last occurrence of a scalar wins.

const WIRE = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;

/** Raised on bytes that are not a message of the expected shape. */
export class WireError extends Error {}

/** Reads one message's fields in order. */
export class WireReader {
  private at = 0;
  private readonly end: number;

  constructor(private readonly bytes: Uint8Array) {
    this.end = bytes.length;
  }

  /** The next field's number and wire type, or undefined at the end of the message. */
  next(): { field: number; wire: number } | undefined {
    if (this.at >= this.end) return undefined;
    const key = this.varint();
    const field = Math.floor(key / 8);
    if (field === 0) throw new WireError('a field numbered 0');
    return { field, wire: key % 8 };
  }

  // The last varint read, in two unsigned 32-bit halves.
  private low = 0;
  private high = 0;

  /** A varint as a number: exact up to 2^53, past that the nearest double (a negative int64 reads as 2^64 + value). */
  varint(): number {
    this.readVarint();
    return this.high * 2 ** 32 + this.low;
  }

  /** An int64 field: negative values back from their two's complement. */
  int64(): number {
    this.readVarint();
    return this.high >= 2 ** 31 ? (this.high - 2 ** 32) * 2 ** 32 + this.low : this.high * 2 ** 32 + this.low;
  }

  /** An int32 field: its low 32 bits (a negative one is sent sign-extended to ten bytes). */
  int32(): number {
    this.readVarint();
    return this.low | 0;
  }

  private readVarint(): void {
    let low = 0;
    let high = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.at >= this.end) throw new WireError('a varint cut short');
      const byte = this.bytes[this.at++]!;
      const bits = byte & 0x7f;
      if (shift < 28) low |= bits << shift;
      else if (shift === 28) {
        low |= bits << 28;
        high |= bits >>> 4;
      } else high |= bits << (shift - 32);
      if (byte < 0x80) {
        this.low = low >>> 0;
        this.high = high >>> 0;
        return;
      }
    }
    throw new WireError('a varint longer than 10 bytes');
  }

  bool(): boolean {
    return this.varint() !== 0;
  }

  /** A length-delimited field's bytes, as a view of the message's. */
  bytesField(): Uint8Array {
    const length = this.varint();
    if (length > this.end - this.at) throw new WireError('a field longer than its message');
    const view = this.bytes.subarray(this.at, this.at + length);
    this.at += length;
    return view;
  }

  string(): string {
    const view = this.bytesField();
    return Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('utf8');
  }

  /** Passes over a field this reader does not take. */
  skip(wire: number): void {
    if (wire === WIRE.VARINT) this.varint();
    else if (wire === WIRE.I64) this.advance(8);
    else if (wire === WIRE.LEN) this.bytesField();
    else if (wire === WIRE.I32) this.advance(4);
    else throw new WireError(`wire type ${wire} is not read here`);
  }

  private advance(bytes: number): void {
    if (bytes > this.end - this.at) throw new WireError('a field longer than its message');
    this.at += bytes;
  }
}

/** Reads a message: `onField` takes the fields it knows and returns false for the others, which are skipped. */
export function readMessage(bytes: Uint8Array, onField: (reader: WireReader, field: number, wire: number) => boolean): void {
  const reader = new WireReader(bytes);
  for (let tag = reader.next(); tag; tag = reader.next()) {
    if (!onField(reader, tag.field, tag.wire)) reader.skip(tag.wire);
  }
}

/** Bytes written one field at a time into memory that grows as needed; zero values are left out, as proto3 encoders do. */
export class WireWriter {
  private buffer: Buffer;
  private at = 0;

  constructor(private readonly size = 256) {
    this.buffer = Buffer.allocUnsafe(size);
  }

  get length(): number {
    return this.at;
  }

  reset(): void {
    this.at = 0;
  }

  /** What was written, as a view that holds until the writer is written to again. */
  view(): Buffer {
    return this.buffer.subarray(0, this.at);
  }

  /** What was written; the writer goes on in new memory. */
  take(): Buffer {
    const taken = this.view();
    this.buffer = Buffer.allocUnsafe(Math.max(this.size, this.buffer.length));
    this.at = 0;
    return taken;
  }

  room(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.at + bytes));
    this.buffer.copy(bigger, 0, 0, this.at);
    this.buffer = bigger;
  }

  byte(value: number): void {
    this.room(1);
    this.buffer[this.at++] = value;
  }

  uint32BE(value: number): void {
    this.room(4);
    this.buffer.writeUInt32BE(value, this.at);
    this.at += 4;
  }

  raw(value: Uint8Array): void {
    this.room(value.length);
    this.buffer.set(value, this.at);
    this.at += value.length;
  }

  /** A string field; an empty one is left out. */
  string(field: number, value: string): void {
    if (value === '') return;
    const length = Buffer.byteLength(value);
    this.room(11 + length);
    this.byte((field << 3) | WIRE.LEN);
    this.varint(length);
    this.at += this.buffer.write(value, this.at, length, 'utf8');
  }

  /** A bytes field; empty bytes are left out. */
  bytes(field: number, value: Uint8Array | undefined): void {
    if (!value || value.length === 0) return;
    this.byte((field << 3) | WIRE.LEN);
    this.varint(value.length);
    this.raw(value);
  }

  /** An integer field (int32, uint32, int64, enum); zero is left out. */
  number(field: number, value: number): void {
    if (value === 0) return;
    this.byte((field << 3) | WIRE.VARINT);
    this.varint(value);
  }

  /**
   * A varint from the integer a double holds (nanoseconds pass 2^53, and the double's value is the one
   * sent), in two 32-bit halves; a negative one as 2^64 + value, ten bytes, as int32 and int64 are sent.
   */
  varint(value: number): void {
    this.room(10);
    if (value >= 0 && value < 2 ** 32 && Number.isInteger(value)) {
      let v = value;
      while (v > 0x7f) {
        this.buffer[this.at++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      this.buffer[this.at++] = v;
      return;
    }
    const whole = Math.trunc(value);
    let low: number;
    let high: number;
    if (whole >= 0) {
      // Both halves are exact: a remainder and a division by a power of two lose nothing.
      low = whole % 2 ** 32;
      high = (whole - low) / 2 ** 32;
    } else {
      const twos = BigInt.asUintN(64, BigInt(whole));
      low = Number(twos & 0xffffffffn);
      high = Number(twos >> 32n);
    }
    while (high !== 0 || low > 0x7f) {
      this.buffer[this.at++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | ((high & 0x7f) << 25)) >>> 0;
      high >>>= 7;
    }
    this.buffer[this.at++] = low;
  }
}

/** The bytes of a varint of this value. */
export function varintLength(value: number): number {
  let length = 1;
  for (let v = value; v > 0x7f; v = Math.floor(v / 0x80)) length++;
  return length;
}
