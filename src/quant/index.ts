// The registry: every method the lab runs, registered once. The CLI's flags and usage, the page's form and presets,
// share-link validation, labels and the pipeline all read this list.
import { CLAQ } from './claq.ts';
import { DUQUANT } from './duquant.ts';
import { GPTQ } from './gptq.ts';
import { RPTQ } from './rptq.ts';
import { RTN } from './rtn.ts';
import type { Method, TransformMethod, WeightMethod } from './method.ts';

export const METHOD_LIST = [RTN, GPTQ, CLAQ, RPTQ, DUQUANT] as const;

export type MethodName = (typeof METHOD_LIST)[number]['name'];

export const METHODS: Record<string, Method> = Object.fromEntries(METHOD_LIST.map((m) => [m.name, m as Method]));
export const WEIGHT_METHODS = METHOD_LIST.filter(
  (m): m is Extract<(typeof METHOD_LIST)[number], { kind: 'weight' }> => m.kind === 'weight',
) as WeightMethod[];
export const TRANSFORM_METHODS = METHOD_LIST.filter((m) => m.kind === 'transform') as TransformMethod[];

export function methodOf(name: string): Method | undefined {
  return METHODS[name];
}

export type { ColumnGroups, Method, Preset, TransformMethod, WeightMethod } from './method.ts';

/**
 * Every chain a recipe can be, as --method words: weight steps alone, each transform followed by a weight step or
 * alone.
 */
export const CHAINS: string[] = [
  'fp',
  ...WEIGHT_METHODS.map((w) => w.name),
  ...TRANSFORM_METHODS.flatMap((t) => [...WEIGHT_METHODS.map((w) => `${t.name}+${w.name}`), t.name]),
];

/** "RPTQ → GPTQ", "GPTQ", "full precision" */
export function chainTitle(chain: string): string {
  return chain === 'fp'
    ? 'full precision'
    : chain
        .split('+')
        .map((n) => METHODS[n]?.title ?? n)
        .join(' → ');
}

/** The seed tables' rows and the methods' own one-click settings: transforms' first, then weight steps'. */
export const PRESETS = [...TRANSFORM_METHODS, ...WEIGHT_METHODS].flatMap((m) => m.presets ?? []);
