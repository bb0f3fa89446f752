// Share links: an experiment (and optionally its figures) in a URL fragment, so it never reaches a server:
//   #x=2.<sha-256 prefix>.<base64url(deflate-raw(JSON))>
// Version 2 carries the recipe of steps; version 1 links (a flat recipe) still open, converted (legacyRecipe.ts).
// Decoding checks, in order: the prefix and version, the base64, the checksum (a truncated or edited link fails here),
// the inflated size (no zip bombs), the JSON, the schema, and the recipe's own rules. Any failure is one ShareLinkError
// that says which check failed; nothing is applied until all of them pass.
import { z } from 'zod';
import { LabError } from '../errors.ts';
import { validateRecipe, withoutRetired, type QuantRecipe } from '../quant/recipe.ts';
import {
  experimentSchema,
  generateSchema,
  linkCalibration,
  modelRefSchema,
  resultSummarySchema,
  type ExperimentSpec,
  type ResultSummary,
} from './experimentSpec.ts';
import { completeV1, fromV1, v1RecipeSchema } from './legacyRecipe.ts';
import type { GenerateRequest } from './types.ts';

export class ShareLinkError extends LabError {
  override name = 'ShareLinkError';
}

export interface SharePayload {
  spec: ExperimentSpec;
  results?: ResultSummary;
  /** the Generate panel's prompt and settings (not the text) */
  generate?: GenerateRequest;
}

const VERSION = '2';
const READS = ['1', '2'];
const MAX_JSON_BYTES = 256 * 1024;

function toBase64Url(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(s: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(s))
    throw new ShareLinkError('the share link is damaged: its data holds characters a link never contains');
  try {
    const b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
    return Uint8Array.from(b, (c) => c.charCodeAt(0));
  } catch {
    throw new ShareLinkError(
      'the share link is damaged: its data is cut at an impossible length (was it copied whole?)',
    );
  }
}

async function pipe(
  bytes: Uint8Array,
  stream: CompressionStream | DecompressionStream,
  limit = Infinity,
): Promise<Uint8Array> {
  const reader = new Blob([bytes as BlobPart]).stream().pipeThrough(stream).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel();
      throw new ShareLinkError(
        `the share link unpacks to more than ${limit / 1024} KiB; an experiment is far smaller, so it was not opened`,
      );
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) out.set(c, (off += c.length) - c.length);
  return out;
}

async function checksum(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as BufferSource));
  return toBase64Url(d.subarray(0, 9));
}

/** The fragment (without '#') that carries the payload. */
export async function encodeShareFragment(p: SharePayload): Promise<string> {
  const json = new TextEncoder().encode(
    JSON.stringify({
      spec: p.spec,
      ...(p.results ? { results: p.results } : {}),
      ...(p.generate ? { generate: p.generate } : {}),
    }),
  );
  const packed = await pipe(json, new CompressionStream('deflate-raw'));
  return `x=${VERSION}.${await checksum(json)}.${toBase64Url(packed)}`;
}

export async function shareUrl(base: string, p: SharePayload): Promise<string> {
  return `${base.split('#')[0]}#${await encodeShareFragment(p)}`;
}

/** True when a URL or fragment carries a share payload at all (then decode it, and show its error if it fails). */
export function hasSharePayload(urlOrFragment: string): boolean {
  return /(^|#)x=/.test(urlOrFragment);
}

/** A URL or fragment → the experiment it carries. Throws ShareLinkError naming the first check that failed. */
export async function decodeShareLink(urlOrFragment: string): Promise<SharePayload> {
  const frag = urlOrFragment.includes('#') ? urlOrFragment.slice(urlOrFragment.indexOf('#') + 1) : urlOrFragment;
  const m = /^x=([^.]*)\.([^.]*)\.(.*)$/s.exec(frag.trim());
  if (!m) throw new ShareLinkError('this is not a Quantization Lab share link (it should end in #x=1.…)');
  const [, version, sum, data] = m;
  if (!READS.includes(version))
    throw new ShareLinkError(
      `the share link has format version "${version.slice(0, 10)}"; this lab reads versions ${READS.join(' and ')}`,
    );
  const packed = fromBase64Url(data);
  let json: Uint8Array;
  try {
    json = await pipe(packed, new DecompressionStream('deflate-raw'), MAX_JSON_BYTES);
  } catch (e) {
    if (e instanceof ShareLinkError) throw e;
    throw new ShareLinkError('the share link is damaged: its data does not unpack (was it cut short or edited?)');
  }
  if ((await checksum(json)) !== sum)
    throw new ShareLinkError('the share link is damaged: its checksum does not match its contents (was it edited?)');
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch {
    throw new ShareLinkError('the share link is damaged: its contents are not JSON');
  }
  const obj = raw as { spec?: { recipe?: { steps?: unknown } }; results?: unknown; generate?: unknown };
  // options an earlier version carried at their one old value (recipe.ts, RETIRED_OPTIONS)
  const steps = obj?.spec?.recipe?.steps;
  if (version === '2' && Array.isArray(steps))
    obj.spec!.recipe!.steps = steps.map((st: unknown) =>
      st && typeof st === 'object' && 'method' in st ? withoutRetired(String(st.method), st) : st,
    );
  const spec = version === '1' ? parseV1(obj?.spec) : experimentSchema.safeParse(obj?.spec);
  if (!spec.success) {
    const issue = spec.error.issues[0];
    throw new ShareLinkError(
      `the share link's experiment is invalid at ${issue.path.join('.') || 'the top'}: ${issue.message}`,
    );
  }
  try {
    validateRecipe(spec.data.recipe as QuantRecipe);
  } catch (e) {
    throw new ShareLinkError(`the share link's recipe is not runnable: ${(e as Error).message}`);
  }
  let results: ResultSummary | undefined;
  if (obj.results !== undefined) {
    const r = resultSummarySchema.safeParse(obj.results);
    if (!r.success)
      throw new ShareLinkError(
        `the share link's results are invalid at ${r.error.issues[0].path.join('.')}: ${r.error.issues[0].message}`,
      );
    results = r.data;
  }
  let generate: GenerateRequest | undefined;
  if (obj.generate !== undefined) {
    const g = generateSchema.safeParse(obj.generate);
    if (!g.success)
      throw new ShareLinkError(
        `the share link's generation settings are invalid at ${g.error.issues[0].path.join('.') || 'the top'}: ` +
          g.error.issues[0].message,
      );
    generate = g.data;
  }
  return { spec: spec.data as ExperimentSpec, results, ...(generate ? { generate } : {}) };
}

/**
 * A version-1 experiment: the flat recipe completed with v1's defaults, checked with v1's schema, turned into steps.
 */
function parseV1(raw: unknown): z.ZodSafeParseResult<ExperimentSpec> {
  const obj = raw as { recipe?: unknown } | undefined;
  if (obj && typeof obj === 'object' && obj.recipe && typeof obj.recipe === 'object')
    obj.recipe = completeV1(obj.recipe as Record<string, unknown>);
  const v1 = z
    .strictObject({ model: modelRefSchema, recipe: v1RecipeSchema(linkCalibration), eval: experimentSchema.shape.eval })
    .safeParse(obj);
  if (!v1.success) return v1 as unknown as z.ZodSafeParseResult<ExperimentSpec>;
  try {
    return { success: true, data: { ...v1.data, recipe: fromV1(v1.data.recipe) } as ExperimentSpec };
  } catch (e) {
    throw new ShareLinkError(`the share link's recipe is not runnable: ${(e as Error).message}`);
  }
}
