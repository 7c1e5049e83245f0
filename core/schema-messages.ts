// Plain-language messages for ajv errors, shared by the YAML loaders (recipes,
// inventories). Each loader places the message (file:line:col) and handles the
// keywords that need its own context: unknown keys, missing keys, quoting hints.
import type { ErrorObject } from 'ajv';

export function article(type: string): string {
  return { object: 'a mapping (key: value lines)', array: 'a list', integer: 'an integer', string: 'a string', boolean: 'true or false', number: 'a number' }[type] ?? type;
}

export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (typeof v === 'number') return `${Number.isInteger(v) ? 'the integer' : 'the number'} ${v}`;
  return `${typeof v} ${String(v)}`;
}

export function showValue(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? 'a list' : v !== null && typeof v === 'object' ? 'a mapping' : String(v);
}

export interface ValueMessageOptions {
  /** the words for a pattern (e.g. 'a MAC address such as ...'), undefined when unknown */
  patternWords(regex: string): string | undefined;
  /** how a value given by the user is shown; a loader may hide secrets here */
  show?(text: string): string;
}

/**
 * The message for an error about a value (type, enum, pattern, limits, unique
 * items), and for uniqueItems the index of the repeated item to point at.
 * Undefined for additionalProperties and required, which need the loader's context.
 */
export function valueErrorMessage(e: ErrorObject, o: ValueMessageOptions): { message: string; item?: number } | undefined {
  const show = o.show ?? ((t: string) => t);
  switch (e.keyword) {
    case 'additionalProperties':
    case 'required':
      return undefined;
    case 'type':
      return { message: `expected ${article(String(e.params.type))}, got ${show(describeValue(e.data))}` };
    case 'enum':
      return { message: `must be one of ${(e.params.allowedValues as unknown[]).map(String).join(', ')} (got ${show(showValue(e.data))})` };
    case 'pattern':
      return { message: `must be ${o.patternWords(String(e.params.pattern)) ?? `text matching ${e.params.pattern}`} (got ${show(showValue(e.data))})` };
    case 'minimum':
      return { message: `must be at least ${e.params.limit} (got ${showValue(e.data)})` };
    case 'maximum':
      return { message: `must be at most ${e.params.limit} (got ${showValue(e.data)})` };
    case 'minItems':
      return { message: `must list at least ${e.params.limit} item${e.params.limit === 1 ? '' : 's'}` };
    case 'minLength':
      return { message: 'must not be empty' };
    case 'uniqueItems': {
      const { i, j } = e.params as { i: number; j: number }; // ajv reports the later index first
      const [a, b] = i < j ? [i, j] : [j, i];
      return { message: `${showValue((e.data as unknown[])[b])} is listed twice (items ${a} and ${b})`, item: b };
    }
    default:
      return { message: e.message ?? `fails the ${e.keyword} check` };
  }
}
