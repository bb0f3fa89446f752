// Choosing the next token from a step's logits, as transformers' generate() applies its logits processors: the
// repetition penalty (CTRL's: a seen token's logit divided by the penalty when positive, multiplied when negative),
// then temperature, top-k, top-p (the smallest set of most probable tokens whose mass reaches p, always at least one),
// then a draw from what is left with the lab's seeded generator. Temperature 0 is greedy: the argmax of the penalized
// logits, the first on a tie.
import { SeededRandom } from '../quant/random.ts';

export interface SamplingSettings {
  /** 0: greedy */
  temperature: number;
  /** 0: no top-k */
  topK: number;
  /** 1: no top-p */
  topP: number;
  /** 1: no penalty */
  repetitionPenalty: number;
  seed: number;
}

export const GREEDY: SamplingSettings = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 0 };

/** Why settings cannot be used, or null. */
export function samplingError(s: SamplingSettings): string | null {
  if (!(s.temperature >= 0) || !Number.isFinite(s.temperature)) return `temperature ${s.temperature} is not ≥ 0`;
  if (!Number.isInteger(s.topK) || s.topK < 0) return `top-k ${s.topK} is not a whole number ≥ 0`;
  if (!(s.topP > 0 && s.topP <= 1)) return `top-p ${s.topP} is not in (0, 1]`;
  if (!(s.repetitionPenalty > 0) || !Number.isFinite(s.repetitionPenalty))
    return `repetition penalty ${s.repetitionPenalty} is not > 0`;
  if (!Number.isInteger(s.seed) || s.seed < 0 || s.seed > 2 ** 32 - 1) return `seed ${s.seed} is not in 0..2³²−1`;
  return null;
}

/** Draws tokens for one generation; the generator's state carries from step to step. */
export class Sampler {
  private readonly rng: SeededRandom;
  constructor(readonly settings: SamplingSettings) {
    const why = samplingError(settings);
    if (why) throw new Error(`sampling: ${why}`);
    this.rng = new SeededRandom(settings.seed);
  }

  /** the next token after `seen` (prompt and tokens so far) from the step's logits (left as they are) */
  next(logits: Float32Array, seen: ArrayLike<number>): number {
    const s = this.settings;
    const z = Float64Array.from(logits);
    if (s.repetitionPenalty !== 1)
      for (const id of new Set(Array.from(seen)))
        z[id] = z[id] > 0 ? z[id] / s.repetitionPenalty : z[id] * s.repetitionPenalty;
    if (s.temperature === 0) return argmax(z);
    for (let i = 0; i < z.length; i++) z[i] /= s.temperature;
    // candidates by falling logit (a stable sort: ties keep the lower id first)
    let order = Array.from(z.keys()).sort((a, b) => z[b] - z[a] || a - b);
    if (s.topK > 0) order = order.slice(0, s.topK);
    const m = z[order[0]];
    const p = order.map((i) => Math.exp(z[i] - m));
    const total = p.reduce((a, b) => a + b, 0);
    let n = order.length;
    if (s.topP < 1) {
      let mass = 0;
      for (n = 0; n < order.length;) {
        mass += p[n++] / total;
        if (mass >= s.topP) break;
      }
    }
    const kept = p.slice(0, n).reduce((a, b) => a + b, 0);
    let u = this.rng.next() * kept;
    for (let i = 0; i < n; i++) if ((u -= p[i]) < 0) return order[i];
    return order[n - 1];
  }
}

export function argmax(z: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < z.length; i++) if (z[i] > z[best]) best = i;
  return best;
}

/** log p(id) under the logits' softmax */
export function logProb(logits: Float32Array, id: number): number {
  let m = -Infinity;
  for (const x of logits) m = Math.max(m, x);
  let s = 0;
  for (const x of logits) s += Math.exp(x - m);
  return logits[id] - m - Math.log(s);
}
