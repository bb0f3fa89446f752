// The kernel table (src/gpu/kernels.ts) against the shaders, the twins and both Backend adapters; then every WGSL
// kernel against its TypeScript twin, on real inputs: real weights of the fixture models and real activations captured
// from the reference forward, including sizes that are not tile multiples (172, 45, 511).
import { beforeAll, describe, expect, it } from 'vitest';
import * as ops from '../../src/gpu/kernels.ts';
import { FORMAT, KERNELS, type KernelName } from '../../src/gpu/kernels.ts';
import * as ref from '../../src/gpu/reference.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { gpuBackend, referenceBackend } from '../../src/gpu/backend.ts';
import { shaderSource, withIncludes } from '../../src/gpu/shaders.ts';
import { Decoder } from '../../src/model/forward.ts';
import { WeightStore } from '../../src/model/weights.ts';
import type { LoadedModel } from '../../src/model/load.ts';
import { MODELS, TOL, loadFixture, relErr, sharedGpu } from '../helpers.ts';
import { readdirSync, readFileSync } from 'node:fs';

let gpu: Gpu;
let stories: LoadedModel;
let opt: LoadedModel;
/** activations of stories260K block 0 on a real 45-token prompt, captured at every hook point */
const taps = new Map<string, ref.CpuTensor>();
let ids: Uint32Array;

beforeAll(async () => {
  gpu = await sharedGpu();
  stories = await loadFixture(MODELS.stories260K);
  opt = await loadFixture(MODELS.optTiny);
  ids = stories.tokenizer
    .encode('Once upon a time, there was a little girl named Lily. She loved to play outside in the sun.')
    .slice(0, 45);
  const be = referenceBackend();
  const dec = new Decoder(be, stories.config, new WeightStore(be, stories.config, stories.checkpoint));
  await dec.windowNll(ids, {
    taps: (layer, point, x) => {
      if (layer === 0) taps.set(point, ref.cpu(x.data.slice(), [...x.shape]));
    },
  });
});

const up = (t: ref.CpuTensor) => gpu.upload(t.data, t.shape);
/** runs a check with the tiled (GPU) and the barrier-free (software adapter) kernels, then restores the default */
async function bothVariants(check: (variant: 'tiled' | 'direct') => Promise<void>) {
  for (const variant of ['tiled', 'direct'] as const) {
    gpu.kernelVariant = variant;
    await check(variant);
  }
  gpu.kernelVariant = gpu.info.software ? 'direct' : 'tiled';
}
const weight = async (m: LoadedModel, name: string) => {
  const info = m.checkpoint.info(name)!;
  return ref.cpu(await m.checkpoint.readF32(name), info.shape);
};

// ---- the kernel table -----------------------------------------------------------------------------------------------

const SHADERS = new URL('../../shaders/', import.meta.url);
const wgslFile = (file: string) => readFileSync(new URL(`${file}.wgsl`, SHADERS), 'utf8');
const shaderFiles = readdirSync(SHADERS)
  .filter((f) => f.endsWith('.wgsl'))
  .map((f) => f.slice(0, -'.wgsl'.length));
/** what a Backend is besides the table's kernels: the hand-written base */
const BASE = [
  'name',
  'adapter',
  'fromHost',
  'fromHost16',
  'storage',
  'zeros',
  'shape',
  'ids',
  'rows',
  'writeRows',
  'toHost',
  'readMany',
  'readIds',
  'sync',
  'release',
  'maxTensorBytes',
  'software',
];
const names = Object.keys(KERNELS) as KernelName[];
const groups = [...new Set(names.map((n) => KERNELS[n].group))].filter((g) => g !== 'core');

/** module-scope `const NAME: u32 = 64u;` of a WGSL source (integer values; an expression of them is left out) */
function wgslConsts(src: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [, name, value] of src.matchAll(/^const (\w+)\s*(?::\s*\w+)?\s*=\s*(\d+)[ui]?;/gm))
    out.set(name, Number(value));
  return out;
}

/** each `@compute` entry point of a WGSL source with its @workgroup_size, consts resolved */
function entryPoints(src: string): Map<string, number[]> {
  const consts = wgslConsts(src);
  const out = new Map<string, number[]>();
  for (const [, size, name] of src.matchAll(/@compute\s+@workgroup_size\(([^)]*)\)\s*fn\s+(\w+)/g)) {
    const dims = size.split(',').map((d) => d.trim().replace(/^(\d+)[ui]?$/, '$1'));
    out.set(
      name,
      dims.map((d) => (/^\d+$/.test(d) ? Number(d) : (consts.get(d) ?? NaN))),
    );
  }
  return out;
}

describe('the kernel table', () => {
  it('names a shader file for every kernel, whose entry points have the workgroup sizes its dispatch assumes', () => {
    for (const name of names) {
      const { shader, workgroups } = KERNELS[name];
      expect(shaderFiles, `${name}: shaders/${shader}.wgsl`).toContain(shader);
      const found = entryPoints(wgslFile(shader));
      for (const [entry, size] of Object.entries(workgroups)) {
        expect(found.has(entry), `${name}: entry point ${entry} in shaders/${shader}.wgsl`).toBe(true);
        // @workgroup_size(x) is (x, 1, 1)
        const pad = (s: readonly number[]) => [...s, 1, 1].slice(0, 3);
        expect(pad(found.get(entry)!), `${name}: @workgroup_size of ${shader}.${entry}`).toEqual(pad(size));
      }
    }
  });

  it('checks the WGSL constants the TypeScript side relies on against the shaders', () => {
    for (const name of names) {
      const spec: { shader: string; consts?: Record<string, number> } = KERNELS[name];
      const consts = wgslConsts(wgslFile(spec.shader));
      for (const [c, value] of Object.entries(spec.consts ?? {}))
        expect(consts.get(c), `${name}: const ${c} in shaders/${spec.shader}.wgsl`).toBe(value);
    }
    // GPTQ's block is Err's row stride in gptqBlock, gptqUpdate and claqBlock, and the twins'
    expect(KERNELS.gptqBlock.consts.BLOCK).toBe(ref.GPTQ_BLOCK);
    expect(KERNELS.claqBlock.consts.BLOCK).toBe(ref.CLAQ_BLOCK);
    expect(ref.CLAQ_BLOCK).toBe(ref.GPTQ_BLOCK);
    // 16-bit storage formats, as the host passes them in the *_FORMAT overrides
    const half16 = wgslConsts(wgslFile('half16'));
    expect([half16.get('FORMAT_F32'), half16.get('FORMAT_F16'), half16.get('FORMAT_BF16')]).toEqual([
      FORMAT.f32,
      FORMAT.f16,
      FORMAT.bf16,
    ]);
  });

  it('uses every shader file: a kernel family of the table, or a file another includes', () => {
    const families = new Set<string>(names.map((n) => KERNELS[n].shader));
    const included = new Set<string>();
    for (const f of families)
      withIncludes(f, (file) => {
        if (file !== f) included.add(file);
        return wgslFile(file);
      });
    for (const f of shaderFiles)
      expect(families.has(f) || included.has(f), `shaders/${f}.wgsl is used by no kernel`).toBe(true);
    for (const f of included) expect(families.has(f), `${f}.wgsl is an include, not a kernel family`).toBe(false);
  });

  it('pastes includes in: the 16-bit packing and unpacking is one file, used by every kernel that reads or writes 16-bit storage', () => {
    const users = shaderFiles.filter((f) => /^\/\/ #include half16$/m.test(wgslFile(f)));
    expect(users.sort()).toEqual(['convert', 'embed', 'gptqDequant', 'matmul', 'matmulPacked', 'packedDequant']);
    for (const f of users) {
      const src = shaderSource(f as 'matmul');
      expect(src).not.toMatch(/^\/\/ #include/m);
      expect(src.match(/fn unpackHalf\(/g)).toHaveLength(1);
      expect(src.match(/fn toF16\(/g)).toHaveLength(1);
    }
    // no other shader unpacks 16-bit words itself
    for (const f of shaderFiles.filter((f) => f !== 'half16'))
      expect(wgslFile(f), `shaders/${f}.wgsl`).not.toMatch(/unpack2x16float|w & 0xffff0000u/);
  });

  it('has each twin in reference.ts under its kernel’s name, and each GPU op in kernels.ts, gpu first', () => {
    for (const name of names) {
      const { twin, op } = KERNELS[name];
      expect(ref[name], `reference.${name}`).toBe(twin);
      expect(ops[name], `kernels.${name}`).toBe(op);
      expect(op.length, `${name}: gpu, then the twin's arguments`).toBe(twin.length + 1);
    }
  });

  it('puts every kernel on both backends, flat (core) or under its method, and nothing else', async () => {
    for (const be of [gpuBackend(await sharedGpu()), referenceBackend()]) {
      const members = be as unknown as Record<string, unknown>;
      for (const name of names) {
        const { group, twin } = KERNELS[name];
        const holder = (group === 'core' ? members : members[group]) as Record<string, unknown>;
        expect(typeof holder?.[name], `${be.name}: ${group === 'core' ? '' : `${group}.`}${name}`).toBe('function');
        if (be.name === 'reference') expect(holder[name], `${be.name}: ${name} is its twin`).toBe(twin);
      }
      const core = names.filter((n) => KERNELS[n].group === 'core');
      expect(Object.keys(members).sort(), be.name).toEqual([...BASE, ...core, ...groups].sort());
      for (const g of groups)
        expect(Object.keys(members[g] as object).sort(), `${be.name}.${g}`).toEqual(
          names.filter((n) => KERNELS[n].group === g).sort(),
        );
    }
  });
});

describe('kernels match their reference twins', () => {
  it.each([
    ['q_proj', 'model.layers.0.self_attn.q_proj.weight', 'q.in'],
    ['gate_proj (172 out: not a tile multiple)', 'model.layers.0.mlp.gate_proj.weight', 'ffn_norm'],
    ['down_proj (K = 172)', 'model.layers.0.mlp.down_proj.weight', 'down.in'],
  ])('matmul %s', async (_, wName, tapName) => {
    const x = taps.get(tapName)!;
    const W = await weight(stories, wName);
    await bothVariants(async (variant) => {
      const y = await gpu.read(ops.matmul(gpu, up(x), up(W), null));
      expect(relErr(y, ref.matmul(x, W, null).data), variant).toBeLessThan(TOL.f32);
    });
  });

  it('matmul with fused bias on OPT fc1 (F16 weights), 511 rows (K = 128: the vec4 direct path)', async () => {
    const W = await weight(opt, 'model.decoder.layers.1.fc1.weight');
    const b = await weight(opt, 'model.decoder.layers.1.fc1.bias');
    const E = await weight(opt, 'model.decoder.embed_tokens.weight');
    const x = ref.embed(
      E,
      Uint32Array.from({ length: 511 }, (_, i) => (i * 37) % 512),
    );
    await bothVariants(async (variant) => {
      const y = await gpu.read(ops.matmul(gpu, up(x), up(W), up(b)));
      expect(relErr(y, ref.matmul(x, W, b).data), variant).toBeLessThan(TOL.f32);
    });
  });

  it('matmul with K = 63 (the scalar direct path, K not a multiple of 4) on real activations and weights', async () => {
    const x0 = taps.get('q.in')!;
    const W0 = await weight(stories, 'model.layers.0.self_attn.q_proj.weight');
    const cut = (t: ref.CpuTensor) =>
      ref.cpu(
        Float32Array.from({ length: t.shape[0] * 63 }, (_, i) => t.data[Math.floor(i / 63) * 64 + (i % 63)]),
        [t.shape[0], 63],
      );
    const [x, W] = [cut(x0), cut(W0)];
    await bothVariants(async (variant) => {
      expect(
        relErr(await gpu.read(ops.matmul(gpu, up(x), up(W), null)), ref.matmul(x, W, null).data),
        variant,
      ).toBeLessThan(TOL.f32);
    });
  });

  it('embed gathers real embedding rows', async () => {
    const E = await weight(stories, 'model.embed_tokens.weight');
    const y = await gpu.read(ops.embed(gpu, up(E), gpu.upload(ids, [ids.length])));
    expect(relErr(y, ref.embed(E, ids).data)).toBe(0);
  });

  it('layerNorm on OPT embeddings with the real norm weights', async () => {
    const E = await weight(opt, 'model.decoder.embed_tokens.weight');
    const g = await weight(opt, 'model.decoder.layers.0.self_attn_layer_norm.weight');
    const b = await weight(opt, 'model.decoder.layers.0.self_attn_layer_norm.bias');
    const x = ref.embed(E, ids);
    const y = await gpu.read(ops.layerNorm(gpu, up(x), up(g), up(b), 1e-5));
    expect(relErr(y, ref.layerNorm(x, g, b, 1e-5).data)).toBeLessThan(TOL.f32);
  });

  it('rmsNorm with the real input_layernorm', async () => {
    const E = await weight(stories, 'model.embed_tokens.weight');
    const g = await weight(stories, 'model.layers.0.input_layernorm.weight');
    const x = ref.embed(E, ids);
    const y = await gpu.read(ops.rmsNorm(gpu, up(x), up(g), 1e-5));
    expect(relErr(y, ref.rmsNorm(x, g, 1e-5).data)).toBeLessThan(TOL.f32);
  });

  it('rope on real q and k (8 and 4 heads, D = 8), with an offset start position', async () => {
    const P = 64;
    const half = 4;
    const cos = ref.cpu(
      Float32Array.from({ length: P * half }, (_, i) =>
        Math.cos(Math.floor(i / half) / 10000 ** ((2 * (i % half)) / 8)),
      ),
      [P, half],
    );
    const sin = ref.cpu(
      Float32Array.from({ length: P * half }, (_, i) =>
        Math.sin(Math.floor(i / half) / 10000 ** ((2 * (i % half)) / 8)),
      ),
      [P, half],
    );
    for (const [name, H] of [
      ['q.out', 8],
      ['k.out', 4],
    ] as const) {
      const x = taps.get(name)!;
      const g = up(x);
      ops.rope(gpu, up(cos), up(sin), g, H, 8, 7);
      const r = ref.cpu(x.data.slice(), x.shape);
      ref.rope(cos, sin, r, H, 8, 7);
      expect(relErr(await gpu.read(g), r.data)).toBeLessThan(TOL.f32);
    }
  });

  it('attention, grouped-query (8 query heads on 4 KV heads), real q/k/v of 45 tokens', async () => {
    const [q, k, v] = ['q.out', 'k.out', 'v.out'].map((n) => taps.get(n)!);
    await bothVariants(async (variant) => {
      const o = await gpu.read(ops.attention(gpu, up(q), up(k), up(v), 8, 4, 8, 1 / Math.sqrt(8)));
      expect(relErr(o, ref.attention(q, k, v, 8, 4, 8, 1 / Math.sqrt(8)).data), variant).toBeLessThan(TOL.f32);
    });
  });

  it('attention with 8-bit probabilities, round(p·255)/255 (RPTQ), real q/k/v of 45 tokens', async () => {
    const [q, k, v] = ['q.out', 'k.out', 'v.out'].map((n) => taps.get(n)!);
    const r = ref.attention(q, k, v, 8, 4, 8, 1 / Math.sqrt(8), 255).data;
    await bothVariants(async (variant) => {
      const o = await gpu.read(ops.attention(gpu, up(q), up(k), up(v), 8, 4, 8, 1 / Math.sqrt(8), 255));
      // a probability within float error of a rounding boundary may land one level apart: at most 1/255 of |v|
      const vMax = Math.max(...v.data.map(Math.abs));
      const off = o.filter((x, i) => Math.abs(x - r[i]) > TOL.f32 * Math.max(1, Math.abs(r[i])));
      expect(off.length, variant).toBeLessThanOrEqual(o.length / 100);
      expect(relErr(o, r), variant).toBeLessThan(vMax / 255 + TOL.f32);
      // and the rounding is really there: the unquantized output differs
      expect(relErr(o, ref.attention(q, k, v, 8, 4, 8, 1 / Math.sqrt(8)).data), variant).toBeGreaterThan(1e-4);
    });
  });

  it('attention over a 300-token window (several key tiles, a partial query block)', async () => {
    const E = await weight(opt, 'model.decoder.embed_tokens.weight');
    const Wq = await weight(opt, 'model.decoder.layers.0.self_attn.q_proj.weight');
    const Wk = await weight(opt, 'model.decoder.layers.0.self_attn.k_proj.weight');
    const x = ref.embed(
      E,
      Uint32Array.from({ length: 300 }, (_, i) => (i * 91) % 512),
    );
    const q = ref.matmul(x, Wq, null);
    const k = ref.matmul(x, Wk, null);
    await bothVariants(async (variant) => {
      const o = await gpu.read(ops.attention(gpu, up(q), up(k), up(x), 4, 4, 32, 1 / Math.sqrt(32)));
      expect(relErr(o, ref.attention(q, k, x, 4, 4, 32, 1 / Math.sqrt(32)).data), variant).toBeLessThan(TOL.f32);
    });
  });

  it('relu, gelu and siluMul on real MLP activations; add on the residual', async () => {
    const gate = taps.get('gate.out')!;
    const upT = taps.get('up.out')!;
    const s = await gpu.read(ops.siluMul(gpu, up(gate), up(upT)));
    expect(relErr(s, ref.siluMul(gate, upT).data)).toBeLessThan(TOL.f32);
    for (const f of ['relu', 'gelu'] as const) {
      const g = up(gate);
      ops[f](gpu, g);
      const r = ref.cpu(gate.data.slice(), gate.shape);
      ref[f](r);
      expect(relErr(await gpu.read(g), r.data), f).toBeLessThan(TOL.f32);
    }
    const h = up(upT);
    ops.add(gpu, up(gate), h);
    const r = ref.cpu(upT.data.slice(), upT.shape);
    ref.add(gate, r);
    expect(relErr(await gpu.read(h), r.data)).toBeLessThan(TOL.f32);
  });

  it('next-token log-probs on real logits (tied lm_head): the vocabulary in three chunks against the twin in one', async () => {
    const E = await weight(stories, 'model.embed_tokens.weight');
    const hN = taps.get('attn_norm')!;
    const logits = ref.matmul(hN, E, null);
    const [N, V] = logits.shape;
    const targets = Uint32Array.from(ids, (_, i) => ids[(i + 1) % ids.length]); // next token (wrapping at the end)
    const state = ref.cpu(new Float32Array(4 * N), [N, 4]);
    ref.vocabChunk(logits, targets, state, 0);
    const want = ref.cpu(new Float32Array(2 * N), [N, 2]);
    ref.finishScores(state, targets, want, 0);
    const t = gpu.upload(targets, [N], 'ids');
    const st = gpu.upload(new Float32Array(4 * N), [N, 4]);
    for (const [v0, v1] of [
      [0, 200],
      [200, 201],
      [201, V],
    ]) {
      const cols = Float32Array.from(
        { length: N * (v1 - v0) },
        (_, i) => logits.data[Math.floor(i / (v1 - v0)) * V + v0 + (i % (v1 - v0))],
      );
      ops.vocabChunk(gpu, gpu.upload(cols, [N, v1 - v0]), t, st, v0);
    }
    const scores = gpu.upload(new Float32Array(2 * N), [N, 2]);
    ops.finishScores(gpu, st, t, scores, 0);
    const got = await gpu.read(scores);
    expect(
      relErr(
        got.filter((_, i) => i % 2 === 0),
        want.data.filter((_, i) => i % 2 === 0),
      ),
    ).toBeLessThan(TOL.f32);
    expect(got.filter((_, i) => i % 2 === 1)).toEqual(want.data.filter((_, i) => i % 2 === 1));
  });

  it('countNonFinite counts NaN and Inf in a real activation', async () => {
    const x = taps.get('down.in')!;
    const bad = ref.cpu(x.data.slice(), x.shape);
    bad.data[3] = NaN;
    bad.data[100] = -Infinity;
    expect(await ops.countNonFinite(gpu, up(bad))).toBe(await ref.countNonFinite(bad));
    expect(await ref.countNonFinite(bad)).toBe(2);
    expect(await ops.countNonFinite(gpu, up(x))).toBe(0);
  });

  it('tokenQuant (DuQuant): per token on the FFN-norm output, per (token, head) on q, 4 and 6 bits, clip 0.9', async () => {
    for (const [name, G, bits, lac] of [
      ['ffn_norm', 64, 4, 0.9],
      ['q.out', 8, 4, 0.9],
      ['down.in', 172, 6, 1],
    ] as const) {
      const x = taps.get(name)!;
      const g = up(x);
      ops.tokenQuant(gpu, g, G, 2 ** bits - 1, lac);
      const r = ref.cpu(x.data.slice(), x.shape);
      ref.tokenQuant(r, G, 2 ** bits - 1, lac);
      const got = await gpu.read(g);
      // the kernel's division may land a value within float error of a level on the other side: a handful at most
      const off = got.filter((v, i) => Math.abs(v - r.data[i]) > TOL.f32 * Math.max(1, Math.abs(r.data[i]))).length;
      expect(off, `${name} G=${G}`).toBeLessThanOrEqual(Math.ceil(got.length / 1000));
      // and the quantization is really there: at most 2^bits levels per row, and not the input
      for (let row = 0; row < got.length / G; row++)
        expect(new Set(got.subarray(row * G, (row + 1) * G)).size).toBeLessThanOrEqual(2 ** bits);
      expect(relErr(got, x.data)).toBeGreaterThan(1e-3);
    }
  });

  it('greedyPick and greedyApply (DuQuant): the extreme entry, its channel (and the reference row index), one rotation step, on real activations', async () => {
    let seed = 3;
    const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
    for (const [name, n] of [
      ['attn_norm', 64],
      ['down.in', 86],
    ] as const) {
      const x = taps.get(name)!;
      const A = ref.cpu(Float32Array.from({ length: n * n }, rnd), [n, n]);
      for (const refExchange of [false, true]) {
        const peaks = gpu.upload(new Float32Array(2), [2]);
        const chans = gpu.upload(new Uint32Array(1), [1], 'ids');
        ops.greedyPick(gpu, up(x), peaks, chans, 0, n, true, refExchange);
        const rPeaks = ref.cpu(new Float32Array(2), [2]);
        const rChans = new Uint32Array(1);
        ref.greedyPick(x, rPeaks, rChans, 0, n, true, refExchange);
        expect(await gpu.read(peaks)).toEqual(rPeaks.data);
        expect(Array.from(await gpu.readU32(chans)), `${name} ref=${refExchange}`).toEqual(Array.from(rChans));
        const got = await gpu.read(ops.greedyApply(gpu, up(x), up(A), chans, 0, n));
        expect(relErr(got, ref.greedyApply(x, A, rChans, 0, n).data), name).toBeLessThan(TOL.f32);
      }
    }
  });

  it('blockRotate (DuQuant): one shared and one-per-block matrices, with and without a gathered permutation, widths 64 and 172', async () => {
    let seed = 7;
    const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
    for (const [name, n] of [
      ['ffn_norm', 16],
      ['down.in', 86],
    ] as const) {
      const x = taps.get(name)!;
      const C = x.shape[x.shape.length - 1];
      const perm = Uint32Array.from({ length: C }, (_, i) => (i * 37 + 11) % C);
      for (const blocks of [1, C / n]) {
        const R = ref.cpu(Float32Array.from({ length: blocks * n * n }, rnd), [blocks, n, n]);
        for (const p of [null, perm]) {
          const got = await gpu.read(ops.blockRotate(gpu, up(x), up(R), n, p && gpu.upload(p, [C])));
          expect(
            relErr(got, ref.blockRotate(x, R, n, p).data),
            `${name} n=${n} blocks=${blocks} perm=${!!p}`,
          ).toBeLessThan(TOL.f32);
        }
      }
    }
  });
});
