// Turns zod's list of issues into the one line an operator reads. Only one problem is reported:
// an unknown key first (a mistyped key also makes the real key look missing, and the typo is the
// cause), otherwise the first issue in file order. Values are quoted, except those of secret keys.

import { z, type ZodIssue, type ZodTypeAny } from 'zod';

import type { ConfigErrorKind } from './errors';
import { ERROR_VALUE_PREVIEW_CHARS_MAX } from './limits';
import { normalizeKey, nearestKey } from './suggest';

type Path = ReadonlyArray<string | number>;

export interface ConfigProblem {
  kind: Extract<ConfigErrorKind, 'unknown-key' | 'missing-key' | 'wrong-type' | 'invalid-value'>;
  detail: string;
}

export interface ProblemContext {
  /** The parsed TOML document that failed validation. */
  document: unknown;
  /** The strict tables, to find known keys and expected types. */
  schema: ZodTypeAny;
  /** Keys whose values never appear in messages. */
  secretKeys: ReadonlySet<string>;
}

// ---- walking the schema and the document ------------------------------------------------------

/** The schema inside an optional, default, nullable or effects wrapper; undefined for others. */
function unwrapOnce(schema: ZodTypeAny): ZodTypeAny | undefined {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable) return schema.unwrap() as ZodTypeAny;
  if (schema instanceof z.ZodDefault) return schema.removeDefault() as ZodTypeAny;
  if (schema instanceof z.ZodEffects) return schema.innerType() as ZodTypeAny;
  return undefined;
}

function unwrap(schema: ZodTypeAny): ZodTypeAny {
  let current = schema;
  for (let inner = unwrapOnce(current); inner !== undefined; inner = unwrapOnce(current)) current = inner;
  return current;
}

function childSchema(schema: ZodTypeAny, segment: string | number): ZodTypeAny | undefined {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject && typeof segment === 'string') return (inner.shape as Record<string, ZodTypeAny>)[segment];
  if (inner instanceof z.ZodArray && typeof segment === 'number') return inner.element as ZodTypeAny;
  if (inner instanceof z.ZodRecord && typeof segment === 'string') return inner.valueSchema as ZodTypeAny;
  if (inner instanceof z.ZodUnion) {
    for (const option of inner.options as ZodTypeAny[]) {
      const child = childSchema(option, segment);
      if (child !== undefined) return child;
    }
  }
  return undefined;
}

function schemaAt(schema: ZodTypeAny, path: Path): ZodTypeAny | undefined {
  let current: ZodTypeAny | undefined = schema;
  for (const segment of path) current = current && childSchema(current, segment);
  return current;
}

function tableKeys(schema: ZodTypeAny | undefined): string[] {
  const inner = schema && unwrap(schema);
  return inner instanceof z.ZodObject ? Object.keys(inner.shape as object) : [];
}

function valueAt(document: unknown, path: Path): unknown {
  let current = document;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}

// ---- words for keys, types and values ----------------------------------------------------------

/** ["data_dir", 0, "capacity"] -> "data_dir[0].capacity" */
export function formatPath(path: Path): string {
  return path.reduce<string>((text, segment) => {
    if (typeof segment === 'number') return `${text}[${segment}]`;
    return text === '' ? segment : `${text}.${segment}`;
  }, '');
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  number: 'integer',
  integer: 'integer',
  string: 'string',
  boolean: 'boolean (true or false)',
  object: 'table',
  array: 'array',
};

function quotedList(options: readonly string[]): string {
  return options.map((option) => `"${option}"`).join(', ');
}

/** What a key expects, in words: the schema's description, an enum's options, or a type name. */
function expectedText(schema: ZodTypeAny | undefined, zodExpected: string): string {
  for (let current = schema; current !== undefined; current = unwrapOnce(current)) {
    if (current.description !== undefined) return current.description;
    if (current instanceof z.ZodEnum) return `one of ${quotedList(current.options as string[])}`;
  }
  return TYPE_NAMES[zodExpected] ?? zodExpected;
}

function isSecretPath(path: Path, secretKeys: ReadonlySet<string>): boolean {
  return path.some((segment) => typeof segment === 'string' && secretKeys.has(segment));
}

function preview(text: string): string {
  const cut = text.length > ERROR_VALUE_PREVIEW_CHARS_MAX ? `${text.slice(0, ERROR_VALUE_PREVIEW_CHARS_MAX)}...` : text;
  return JSON.stringify(cut);
}

/** "integer 3900", "string \"abc\"", "table"... Secret values are described by type only. */
export function describeValue(value: unknown, secret: boolean): string {
  if (typeof value === 'string') return secret ? 'a string' : `string ${preview(value)}`;
  if (typeof value === 'number' || typeof value === 'bigint') {
    const type = typeof value === 'bigint' || Number.isInteger(value) ? 'integer' : 'float';
    return secret ? `an ${type}` : `${type} ${String(value)}`;
  }
  if (typeof value === 'boolean') return secret ? 'a boolean' : `boolean ${value}`;
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : `an array of ${value.length} items`;
  if (value instanceof Date) return 'a date-time';
  if (value !== null && typeof value === 'object') return 'a table';
  return 'nothing';
}

// ---- "did you mean" ------------------------------------------------------------------------------

function otherTablesWithKey(schema: ZodTypeAny, key: string, except: Path): string[] {
  const tables = tableKeys(schema).filter((name) => tableKeys(childSchema(schema, name)).includes(key));
  return tables.filter((name) => !(except.length === 1 && except[0] === name));
}

function suggestion(key: string, path: Path, schema: ZodTypeAny): string {
  const known = tableKeys(schemaAt(schema, path));
  const normalized = normalizeKey(key);
  const nearby = known.includes(normalized) ? normalized : undefined;
  if (nearby !== undefined) return ` (did you mean "${formatPath([...path, nearby])}"?)`;
  if (path.length === 1 && tableKeys(schema).includes(normalized)) {
    // In TOML every key after a [table] header belongs to that table: a classic slip.
    return ` (did you mean the top-level key "${normalized}"? top-level keys must come before the first [table])`;
  }
  const [table] = otherTablesWithKey(schema, normalized, path);
  if (table !== undefined) return ` (did you mean "${normalized}" in [${table}]?)`;
  const nearest = nearestKey(key, known);
  return nearest === undefined ? '' : ` (did you mean "${formatPath([...path, nearest])}"?)`;
}

// ---- issues to problems --------------------------------------------------------------------------

function samePath(left: Path, right: Path): boolean {
  return left.length === right.length && left.every((segment, index) => segment === right[index]);
}

/**
 * A value that fails every branch of a union yields one issue per branch. The branch whose type
 * matched the value explains the problem; if none matched, the value simply has the wrong type.
 */
function expandUnions(issue: ZodIssue): ZodIssue[] {
  if (issue.code !== 'invalid_union') return [issue];
  const typeMismatch = (candidate: ZodIssue) => candidate.code === 'invalid_type' && samePath(candidate.path, issue.path);
  const matched = issue.unionErrors.find((branch) => !branch.issues.some(typeMismatch));
  if (matched !== undefined) return matched.issues.flatMap(expandUnions);
  const first = issue.unionErrors[0]?.issues.find(typeMismatch);
  const received = first?.code === 'invalid_type' ? first.received : 'unknown';
  return [{ code: 'invalid_type', path: issue.path, expected: 'unknown', received, message: issue.message }];
}

function invalidValue(issue: ZodIssue, context: ProblemContext, showFound: boolean): ConfigProblem {
  if (issue.path.length === 0) return { kind: 'invalid-value', detail: issue.message };
  const found = showFound ? `, found ${describeValue(valueAt(context.document, issue.path), isSecretPath(issue.path, context.secretKeys))}` : '';
  return { kind: 'invalid-value', detail: `invalid value for "${formatPath(issue.path)}": ${issue.message}${found}` };
}

function problemOf(issue: ZodIssue, context: ProblemContext): ConfigProblem {
  const key = formatPath(issue.path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const unknown = issue.keys[0] as string;
      const detail = `unknown key "${formatPath([...issue.path, unknown])}"${suggestion(unknown, issue.path, context.schema)}`;
      return { kind: 'unknown-key', detail };
    }
    case 'invalid_type': {
      if (issue.received === 'undefined') return { kind: 'missing-key', detail: `missing required key "${key}"` };
      const expected = expectedText(schemaAt(context.schema, issue.path), issue.expected);
      const found = describeValue(valueAt(context.document, issue.path), isSecretPath(issue.path, context.secretKeys));
      return { kind: 'wrong-type', detail: `wrong type for "${key}": expected ${expected}, found ${found}` };
    }
    case 'custom':
      if (issue.params?.['missing'] === true) {
        return { kind: 'missing-key', detail: `missing required key "${key}" (${issue.message})` };
      }
      return invalidValue(issue, context, false);
    case 'invalid_enum_value':
      return invalidValue({ ...issue, message: `expected one of ${quotedList(issue.options.map(String))}` }, context, true);
    case 'too_small':
    case 'too_big':
      return invalidValue(issue, context, true);
    default:
      return invalidValue(issue, context, false);
  }
}

/** The one problem to report for a failed validation. */
export function describeIssues(issues: readonly ZodIssue[], context: ProblemContext): ConfigProblem {
  const expanded = issues.flatMap(expandUnions);
  const chosen = expanded.find((issue) => issue.code === 'unrecognized_keys') ?? expanded[0];
  if (chosen === undefined) return { kind: 'invalid-value', detail: 'invalid configuration' };
  return problemOf(chosen, context);
}
