/**
 * Loads every JSON Schema under schemas/ once, compiles them with ajv, and turns ajv's
 * findings into the field-by-field `details` of -32600/-32602 errors.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { schemasDir } from '../paths';
import type { FieldProblem } from './errors';

/** ISO-8601 date-time; a missing zone is read as UTC (Python's naive isoformat()). */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/i;

export function isDateTime(value: string): boolean {
  return DATE_TIME.test(value) && !Number.isNaN(Date.parse(value));
}

/** Normalises a valid ISO date-time to UTC with `Z` and milliseconds. */
export function toUtcIso(value: string): string {
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(value) ? value : `${value}Z`;
  return new Date(zoned).toISOString();
}

function listSchemaFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return listSchemaFiles(full);
    return entry.name.endsWith('.json') ? [full] : [];
  });
}

/** The property a `required` or `additionalProperties` finding is about, if any. */
function namedProperty(error: ErrorObject): string | undefined {
  const params = error.params as { missingProperty?: string; additionalProperty?: string };
  if (error.keyword === 'required') return params.missingProperty;
  if (error.keyword === 'additionalProperties') return params.additionalProperty;
  return undefined;
}

function fieldOf(error: ErrorObject): string {
  const property = namedProperty(error);
  const pointer = property ? `${error.instancePath}/${property}` : error.instancePath;
  return pointer.replace(/^\//, '').replace(/\//g, '.');
}

function describe(error: ErrorObject): string {
  switch (error.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not a known field';
    case 'enum':
      return `must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues
        .map((v) => JSON.stringify(v))
        .join(', ')}`;
    case 'type':
      return `must be of type ${(error.params as { type: string | string[] }).type}`;
    default:
      return error.message ?? 'is invalid';
  }
}

/** ajv findings → one problem per field, without the noise of `if`/`allOf` wrappers. */
export function toFieldProblems(errors: ErrorObject[] | null | undefined): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
  for (const error of errors ?? []) {
    if (error.keyword === 'if') continue;
    const problem = { field: fieldOf(error), message: describe(error) };
    const key = `${problem.field}\u0000${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(problem);
  }
  return problems;
}

export class SchemaRegistry {
  private readonly ajv: Ajv;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(dir: string = schemasDir) {
    this.ajv = new Ajv({
      allErrors: true,
      strict: true,
      allowUnionTypes: true,
      strictRequired: false,
    });
    this.ajv.addFormat('date-time', { type: 'string', validate: isDateTime });
    const ids: string[] = [];
    for (const file of listSchemaFiles(dir)) {
      const schema = JSON.parse(fs.readFileSync(file, 'utf8')) as { $id?: string };
      if (!schema.$id) throw new Error(`schema ${file} has no $id`);
      this.ajv.addSchema(schema);
      ids.push(schema.$id);
    }
    for (const id of ids) this.compiled.set(id, this.ajv.getSchema(id) as ValidateFunction);
  }

  has(id: string): boolean {
    return this.compiled.has(id);
  }

  /** Problems found in `value` against schema `id` (empty when valid). */
  check(id: string, value: unknown): FieldProblem[] {
    const validate = this.compiled.get(id);
    if (!validate) throw new Error(`no schema ${id}`);
    return validate(value) ? [] : toFieldProblems(validate.errors);
  }
}
