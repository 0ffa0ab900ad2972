// Reading etcd-gateway JSON strictly: the field spellings, int64-as-string, base64 bytes and enum
// names that grpc-gateway's jsonpb accepts, with its error texts where they are cheap to match.
// One deliberate difference: etcd's gateway silently ignores unknown fields; Lifeboat refuses them
// (400, code 3), because a misspelt `range_end` that is silently dropped turns a range into a
// single-key read and a delete of a prefix into a delete of nothing.
import { GrpcCode, GrpcError } from './server-errors.js';

/** A request the gateway could not decode: 400 with gRPC code 3, as etcd's gateway answers. */
export class BadRequestError extends GrpcError {
  constructor(message: string) {
    super(GrpcCode.invalidArgument, message, 'check the request body against the etcd v3 JSON API');
  }
}

/** A decoded JSON object whose fields have been checked against one message's field list. */
export type Fields = Record<string, unknown>;

/**
 * A message's known fields: canonical (proto) name -> accepted spellings. jsonpb accepts both the
 * proto name (`range_end`) and its lowerCamelCase JSON name (`rangeEnd`).
 */
export class MessageSchema {
  private readonly spellings = new Map<string, string>();
  constructor(
    readonly typeName: string,
    names: readonly string[],
  ) {
    for (const name of names) {
      this.spellings.set(name, name);
      this.spellings.set(lowerCamel(name), name);
    }
  }

  /** Checks `value` is an object of this message; returns its fields under canonical names, nulls dropped. */
  read(value: unknown): Fields {
    if (value === null || value === undefined) return {};
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new BadRequestError(`json: cannot unmarshal ${jsonKind(value)} into Go value of type map[string]json.RawMessage`);
    }
    const out: Fields = {};
    for (const key in value as Record<string, unknown>) {
      const canonical = this.spellings.get(key);
      if (canonical === undefined) throw new BadRequestError(`unknown field "${key}" in ${this.typeName}`);
      const field = (value as Record<string, unknown>)[key];
      if (field !== null) out[canonical] = field;
    }
    return out;
  }
}

function lowerCamel(name: string): string {
  return name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'bool';
  return 'object';
}

/** Parses a request body; an empty body is an empty message, as in etcd's gateway. */
export function parseBody(text: string): unknown {
  if (text.length === 0) return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BadRequestError(goSyntaxMessage(text, err));
  }
}

// Node's SyntaxError texts differ by version; this answers in the words Go's decoder uses.
function goSyntaxMessage(text: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/end of JSON input|Unterminated string/i.test(message)) return 'unexpected EOF';
  const position = /position (\d+)/.exec(message);
  if (position) {
    const at = Number(position[1]);
    if (at >= text.trimEnd().length) return 'unexpected EOF';
    const ch = text[at];
    if (ch !== undefined) return `invalid character '${ch}' looking for beginning of value`;
  }
  return 'invalid JSON: ' + message;
}

/** An int64/uint64 field: a JSON number or a decimal string; absent = 0. */
export function int64(fields: Fields, name: string): number {
  const value = fields[name];
  if (value === undefined) return 0;
  if (typeof value === 'number') {
    // Beyond 2^53 a JS number is no longer exact; no revision, limit or ID field needs that range.
    if (!Number.isSafeInteger(value)) throw new BadRequestError(`json: cannot unmarshal number ${value} into Go value of type int64`);
    return value;
  }
  if (typeof value === 'string') {
    if (/^-?\d+$/.test(value)) {
      const n = Number(value);
      if (!Number.isSafeInteger(n)) throw new BadRequestError(`json: cannot unmarshal number ${value} into Go value of type int64`);
      return n;
    }
    throw new BadRequestError(`invalid character '${value[0] ?? '"'}' looking for beginning of value`);
  }
  throw new BadRequestError(`json: cannot unmarshal ${jsonKind(value)} into Go value of type int64`);
}

/** A bool field; absent = false. jsonpb accepts only true and false. */
export function bool(fields: Fields, name: string): boolean {
  const value = fields[name];
  if (value === undefined) return false;
  if (typeof value === 'boolean') return value;
  throw new BadRequestError(`json: cannot unmarshal ${jsonKind(value)} into Go value of type bool`);
}

/** A string field; absent = ''. */
export function str(fields: Fields, name: string): string {
  const value = fields[name];
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  throw new BadRequestError(`json: cannot unmarshal ${jsonKind(value)} into Go value of type string`);
}

/** A repeated string field; absent = []. */
export function strings(fields: Fields, name: string): string[] {
  const value = fields[name];
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new BadRequestError(`json: cannot unmarshal ${jsonKind(value)} into Go value of type []string`);
  for (const item of value) {
    if (typeof item !== 'string') throw new BadRequestError(`json: cannot unmarshal ${jsonKind(item)} into Go value of type string`);
  }
  return value as string[];
}

/** A repeated message field; absent = []. */
export function list(fields: Fields, name: string): unknown[] {
  const value = fields[name];
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new BadRequestError(`json: cannot unmarshal ${jsonKind(value)} into Go value of type []json.RawMessage`);
  return value;
}

/** An enum field given by name or number; absent = the first value. */
export function enumValue<T extends string>(fields: Fields, name: string, values: readonly T[], enumName: string): T {
  const value = fields[name];
  if (value === undefined) return values[0]!;
  if (typeof value === 'string') {
    if ((values as readonly string[]).includes(value)) return value as T;
    throw new BadRequestError(`unknown value ${JSON.stringify(value)} for enum ${enumName}`);
  }
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < values.length) return values[value]!;
  throw new BadRequestError(`unknown value ${JSON.stringify(value)} for enum ${enumName}`);
}

const B64_STD = /^[A-Za-z0-9+/]*={0,2}$/;
const B64_URL = /^[A-Za-z0-9_-]*={0,2}$/;

/**
 * A bytes field: standard base64 with padding (line breaks ignored), or the URL-safe alphabet, as
 * jsonpb accepts; absent = empty. Node's own decoder skips bad characters silently, so check first.
 */
export function bytes(fields: Fields, name: string): Buffer {
  const value = fields[name];
  if (value === undefined) return EMPTY;
  if (typeof value !== 'string') throw new BadRequestError(`json: cannot unmarshal ${jsonKind(value)} into Go value of type []byte`);
  return decodeBase64(value);
}

const EMPTY = Buffer.alloc(0);

/** Decodes strict base64, answering Go's "illegal base64 data at input byte N" when it is not. */
export function decodeBase64(text: string): Buffer {
  if (text.length === 0) return EMPTY;
  const clean = text.includes('\n') || text.includes('\r') ? text.replace(/[\r\n]/g, '') : text;
  return decodeBase64Fast(clean) ?? decodeBase64Checked(clean);
}

/**
 * The common case without a regular expression over every key and value: Node's decoder skips
 * characters outside the alphabet, and stops at an early '=', so its output is shorter than the
 * length the text promises exactly when the text is not clean base64 of one alphabet. Undefined
 * sends the text to the checked path, which decides and words the error.
 */
function decodeBase64Fast(clean: string): Buffer | undefined {
  const n = clean.length;
  if (n % 4 !== 0) return undefined;
  const urlSafe = clean.includes('-') || clean.includes('_');
  // One alphabet per value, as jsonpb's decoders accept (mixed alphabets are refused below).
  if (urlSafe && (clean.includes('+') || clean.includes('/'))) return undefined;
  const pad = clean.charCodeAt(n - 1) === 61 ? (clean.charCodeAt(n - 2) === 61 ? 2 : 1) : 0;
  const out = Buffer.from(clean, urlSafe ? 'base64url' : 'base64');
  return out.length === (n / 4) * 3 - pad ? out : undefined;
}

function decodeBase64Checked(clean: string): Buffer {
  const std = B64_STD.test(clean);
  if ((std || B64_URL.test(clean)) && clean.length % 4 === 0) {
    return Buffer.from(clean, std ? 'base64' : 'base64url');
  }
  throw new BadRequestError(`illegal base64 data at input byte ${illegalAt(clean)}`);
}

// Go reports the first character outside the alphabet, or the start of an incomplete last quantum.
function illegalAt(text: string): number {
  const urlSafe = /[-_]/.test(text) && !/[+/]/.test(text);
  const alphabet = urlSafe ? /[A-Za-z0-9_-]/ : /[A-Za-z0-9+/]/;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '=') {
      if (text.slice(i).replace(/=/g, '') !== '' || i % 4 < 2) return i;
      break;
    }
    if (!alphabet.test(ch)) return i;
  }
  return text.length - (text.length % 4 || 4);
}
