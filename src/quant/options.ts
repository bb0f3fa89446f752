// A method's options are one zod object: defaults, bounds and descriptions in one place. This file reads them back
// (optionInfos) so the CLI's flags and usage, the page's form fields, share-link validation and labels all come from
// that one schema, and turns a schema failure into a message that names the flag (or the form's word).
import type { z } from 'zod';
import { OptionsError } from '../errors.ts';

/**
 * What every option carries besides its type: its CLI flag (as the seed projects spell it), the form's word, a help
 * line.
 */
export interface OptionMeta {
  flag: string;
  label: string;
  description: string;
  /** for an optional option: what its absence means, as the form's placeholder says it ("max(8, abits)") */
  fallback?: string;
  /** the allowed values in words, where bounds alone do not say it ("2..8, or 16") */
  range?: string;
}

export interface OptionInfo extends OptionMeta {
  key: string;
  kind: 'int' | 'number' | 'bool' | 'enum';
  default: unknown;
  optional: boolean;
  min?: number;
  max?: number;
  values?: readonly string[];
}

// zod's introspection surface, as far as we use it
interface Def {
  type: string;
  innerType?: ZodLike;
  defaultValue?: unknown;
}
interface ZodLike {
  def: Def;
  meta(): Record<string, unknown> | undefined;
  minValue?: number | null;
  maxValue?: number | null;
  isInt?: boolean;
  options?: readonly string[];
}

/** Every option of a method's schema, in declaration order. */
export function optionInfos(schema: z.ZodObject): OptionInfo[] {
  return Object.entries(schema.shape).map(([key, field]) => {
    const outer = field as unknown as ZodLike;
    const meta = (outer.meta() ?? {}) as unknown as OptionMeta;
    let inner = outer;
    let def: unknown;
    let optional = false;
    for (;;) {
      if (inner.def.type === 'default') def = inner.def.defaultValue;
      else if (inner.def.type === 'optional') optional = true;
      else break;
      inner = inner.def.innerType!;
    }
    const t = inner.def.type;
    const kind: OptionInfo['kind'] = t === 'boolean' ? 'bool' : t === 'enum' ? 'enum' : inner.isInt ? 'int' : 'number';
    return {
      key,
      flag: meta.flag ?? key,
      label: meta.label ?? key,
      description: meta.description ?? '',
      fallback: meta.fallback,
      range: meta.range,
      kind,
      default: def,
      optional,
      min: inner.minValue ?? undefined,
      max: inner.maxValue ?? undefined,
      values: inner.options,
    };
  });
}

/** "an integer from 2 to 8", "2..8, or 16", "one of kmeans, contiguous, tensor", "a number in [0, 1)". */
export function describeRange(o: OptionInfo): string {
  if (o.range) return o.range;
  if (o.kind === 'bool') return 'true or false';
  if (o.kind === 'enum') return `one of ${o.values!.join(', ')}`;
  const lo = o.min !== undefined && Number.isFinite(o.min) ? o.min : undefined;
  const hi = o.max !== undefined && Number.isFinite(o.max) && o.max < 2 ** 40 ? o.max : undefined;
  const what = o.kind === 'int' ? 'an integer' : 'a number';
  if (lo !== undefined && hi !== undefined) return `${what} from ${lo} to ${hi}`;
  if (lo !== undefined) return lo === 1 && o.kind === 'int' ? 'a positive integer' : `${what} ≥ ${lo}`;
  return what;
}

/** Values of a method's options: the schema's defaults under what was given. Throws OptionsError naming the flag. */
export function parseOptions<S extends z.ZodObject>(
  schema: S,
  given: Record<string, unknown>,
  method: string,
): z.infer<S> {
  const res = schema.safeParse(given);
  if (res.success) return res.data;
  const issue = res.error.issues[0];
  const key = String(issue.path[0] ?? '');
  const info = optionInfos(schema).find((o) => o.key === key);
  if (!info) {
    if (issue.code === 'unrecognized_keys')
      throw new OptionsError(`${method} has no option ${issue.keys.map((k) => `"${k}"`).join(', ')}`);
    throw new OptionsError(`${method}: ${issue.message}`);
  }
  throw new OptionsError(
    `--${info.flag} must be ${describeRange(info)}${info.optional ? ' (or left out)' : ''} for ${method} ` +
      `(got ${showValue(given[key])})`,
  );
}

export function showValue(v: unknown): string {
  return typeof v === 'number' && Number.isNaN(v) ? 'NaN' : typeof v === 'string' ? `"${v}"` : String(v);
}
