// Checkpoint tensors → backend tensors, a block at a time. Blocks stay resident while they fit the budget; past it
// each block is loaded when the forward reaches it and released after, so only the layers being computed need to
// be on the GPU.
import type { ActQuant, Backend, Ids } from '../gpu/backend.ts';
import { MissingTensorError, SafetensorsError } from '../errors.ts';
import {
  checkpointModules,
  familyOf,
  hasBias,
  linearRoles,
  linearShapes,
  linearTensor,
  type LinearRole,
  type LinearTensor,
} from './families.ts';
import type { ModelConfig } from './config.ts';
import type { Checkpoint } from './safetensors.ts';
import { fromHalfBits, toHalfBits, type Half } from '../gpu/half.ts';
import { readGptqLayer, validateGptqLayer, type GptqLayer } from './gptqCheckpoint.ts';
import { dequantizeGptq } from './gptqPacking.ts';
import { releasePacked, uploadPacked, type HostPacked, type PackedLinear } from './packedLinear.ts';

export interface Linear<T> {
  W: T; // [out, in]
  b: T | null; // [out]
  packed?: undefined;
}
/** A quantized layer kept packed (its codes, scales and zero points): matmulPacked reads it, no dense copy exists. */
export interface PackedLayer<T> {
  W?: undefined;
  b: T | null;
  packed: PackedLinear<T>;
}
export type AnyLinear<T> = Linear<T> | PackedLayer<T>;

/** A layer's dense weights; a packed layer has none (what needs them runs before a block is packed). */
export function denseW<T>(l: AnyLinear<T>, what: string): T {
  if (l.packed) throw new Error(`${what} needs dense weights, and this layer is kept packed`);
  return l.W;
}
export interface Norm<T> {
  g: T; // [C]
  b: T | null; // [C]
  /** a folded reorder: output channel c is input channel perm[c] */
  perm?: Ids<T> | null; // [C]
}
import type { ActSite } from './taps.ts';

export type { ActSite } from './taps.ts';

/**
 * Per-token dynamic asymmetric fake-quant (DuQuant): each row of `group` values from its own min and max times lac.
 * Plain data, the same on the host and the backend.
 */
export interface TokenQuant {
  group: number;
  maxq: number;
  lac: number;
}
/** A site's activation quantizer: static per cluster (RPTQ) or dynamic per token (DuQuant). */
export type SiteQuantizer<T> = ActQuant<T> | TokenQuant;
export const isTokenQuant = (q: { maxq: number }): q is TokenQuant => 'group' in q;

/**
 * An orthogonal transform applied online at a site (DuQuant's x·R₁, [:, perm], ·R₂; the Q/K Hadamard): each step
 * gathers the columns by perm (when given), then multiplies by the block-diagonal R of n × n blocks ([1, n, n]
 * shared by every block, or [C/n, n, n]). The consumers' weights carry the inverse on their input columns.
 */
export interface RotationStep<T> {
  R: T;
  n: number;
  perm: Ids<T> | null;
}
export interface HostRotationStep {
  R: Float32Array; // [1 or C/n, n, n]
  n: number;
  perm: Uint32Array | null;
}

export interface BlockWeights<T> {
  attnNorm: Norm<T>;
  ffnNorm: Norm<T>;
  linears: Partial<Record<LinearRole, AnyLinear<T>>>;
  /** online transforms before a site's quantizer (absent: none); they leave full-precision outputs unchanged */
  rotations?: Partial<Record<ActSite, RotationStep<T>[]>>;
  /** activation quantization (absent: full-precision activations) */
  act?: Partial<Record<ActSite, SiteQuantizer<T>>>;
  /** attention probabilities rounded to round(p·L)/L; 0 or absent: full precision */
  probLevels?: number;
}
/**
 * A [V, C] matrix (embedding, lm_head) in row chunks that each fit one binding: part i holds rows
 * [starts[i], starts[i + 1]). Llama-3's 128256 × 4096 is 2.1 GB in f32, beyond most adapters' binding limit.
 */
export interface RowChunks<T> {
  parts: T[];
  starts: number[];
}

export interface GlobalWeights<T> {
  embedTokens: RowChunks<T>; // [V, C]
  embedPositions: T | null; // [P + 2, C] (OPT)
  finalNorm: Norm<T>;
  lmHead: RowChunks<T>; // [V, C]
  rope: { cos: T; sin: T } | null; // [P, D/2]
}

/** A block's weights on the host, in f32: what transforms (reorder, rotation) edit before upload. */
export interface HostLinear {
  W: Float32Array; // [out, in]
  shape: [number, number];
  b: Float32Array | null; // [out]
}
export interface HostNorm {
  g: Float32Array;
  b: Float32Array | null;
  perm: Uint32Array | null;
}
export interface HostActQuant {
  cluster: Uint32Array; // [C]
  params: Float32Array; // [clusters, 2] (scale, zero)
  maxq: number;
}
export interface HostBlock {
  attnNorm: HostNorm;
  ffnNorm: HostNorm;
  linears: Partial<Record<LinearRole, HostLinear>>;
  rotations?: Partial<Record<ActSite, HostRotationStep[]>>;
  act?: Partial<Record<ActSite, HostActQuant | TokenQuant>>;
  probLevels?: number;
}

/**
 * How weights are kept on the backend: `auto` keeps F16 and BF16 checkpoints in their 16 bits (uploaded as stored,
 * never widened) and F32 ones in f32; `f16` also stores F32 checkpoints as f16; `f32` widens everything (the lab's
 * original storage). Norms and biases are always f32; activations and accumulation always f32.
 */
export type WeightStorage = 'auto' | 'f16' | 'f32';
export const WEIGHT_STORAGES = ['auto', 'f16', 'f32'] as const;

export class WeightStore<T> {
  private readonly blocks = new Map<number, BlockWeights<T>>();
  private globals: GlobalWeights<T> | null = null;

  constructor(
    readonly be: Backend<T>,
    readonly cfg: ModelConfig,
    readonly ckpt: Checkpoint,
    /** blocks kept resident; the rest stream */
    readonly residentBlocks = Infinity,
    readonly storage: WeightStorage = 'auto',
  ) {}

  /** How a checkpoint tensor is kept on the backend. */
  formatOf(name: string): 'f32' | Half {
    const dtype = this.ckpt.info(name)?.dtype;
    if (this.storage === 'f32') return 'f32';
    if (dtype === 'BF16') return 'bf16';
    if (dtype === 'F16' || this.storage === 'f16') return 'f16';
    return 'f32';
  }

  /** How the decoder blocks' linear weights are kept (what a quantized layer goes back as). */
  get linearFormat(): 'f32' | Half {
    // a GPTQ checkpoint's layers dequantize into the format of their scales (F16)
    return this.formatOf(`${linearTensor(this.cfg, 0, 'q').module}.${this.cfg.gptq ? 'scales' : 'weight'}`);
  }

  /** A weight matrix (rows [r0, r1) of it) on the backend in its storage format: 16-bit bytes go up as stored. */
  private async loadWeight(name: string, shape: number[], rows?: [number, number]): Promise<T> {
    const { be, ckpt } = this;
    const format = this.formatOf(name);
    if (format === 'f32')
      return be.fromHost(rows ? await ckpt.readRowsF32(name, rows[0], rows[1]) : await ckpt.readF32(name), shape);
    const raw = await ckpt.readRaw(name, rows?.[0], rows?.[1]);
    const bits = raw.dtype === 'F32' ? toHalfBits(new Float32Array(raw.bytes), format) : new Uint16Array(raw.bytes);
    return be.fromHost16(bits, format, shape);
  }

  /** Host f32 weights (transformed or quantized) on the backend in the linear layers' storage format. */
  private uploadLinear(W: Float32Array, shape: readonly number[]): T {
    const format = this.linearFormat;
    return format === 'f32' ? this.be.fromHost(W, shape) : this.be.fromHost16(toHalfBits(W, format), format, shape);
  }

  /** Checks every tensor the architecture needs is present with the shape the config implies, before any load. */
  validate(): void {
    const { cfg, ckpt } = this;
    const f = familyOf(cfg);
    const a = f.names;
    const expect = (name: string, shape: number[]) => {
      const info = ckpt.info(name);
      if (!info) throw new MissingTensorError(`the checkpoint has no tensor "${name}" that ${cfg.modelType} needs`);
      if (info.shape.join() !== shape.join()) {
        throw new SafetensorsError(`tensor "${name}" has shape [${info.shape}], the config implies [${shape}]`);
      }
    };
    const { hidden: C, vocab: V } = cfg;
    expect(a.embedTokens, [V, C]);
    if (a.embedPositions) expect(a.embedPositions, [cfg.maxPositions + cfg.positionOffset, C]);
    expect(`${a.finalNorm}.weight`, [C]);
    // tied models may omit lm_head; untied ones must have it
    if (ckpt.has(a.lmHead) || !cfg.tieEmbeddings) expect(a.lmHead, [V, C]);
    const shapes = linearShapes(cfg);
    for (let i = 0; i < cfg.layers; i++) {
      const p = a.layerPrefix(i);
      // a fused module (Phi-3's qkv_proj) holds its layers' rows one after another
      for (const { module, roles } of checkpointModules(cfg)) {
        const shape: [number, number] = [roles.reduce((n, r) => n + shapes[r]![0], 0), shapes[roles[0]]![1]];
        if (cfg.gptq) validateGptqLayer(ckpt, cfg.gptq, `${p}.${module}`, shape);
        else expect(`${p}.${module}.weight`, shape);
        if (hasBias(cfg, roles[0])) expect(`${p}.${module}.bias`, [shape[0]]);
      }
      for (const n of [a.attnNorm, a.ffnNorm]) {
        expect(`${p}.${n}.weight`, [C]);
        if (f.norm === 'layer') expect(`${p}.${n}.bias`, [C]);
      }
    }
  }

  private async load(name: string, shape: number[]): Promise<T> {
    return this.be.fromHost(await this.ckpt.readF32(name), shape);
  }

  /** A [V, C] checkpoint matrix in row chunks of at most one binding, read from the checkpoint a chunk at a time. */
  private async loadRows(name: string, V: number, C: number): Promise<RowChunks<T>> {
    const rowBytes = C * (this.formatOf(name) === 'f32' ? 4 : 2);
    const perPart = Math.max(1, Math.floor(this.be.maxTensorBytes / rowBytes));
    const out: RowChunks<T> = { parts: [], starts: [0] };
    for (let v0 = 0; v0 < V; v0 += perPart) {
      const v1 = Math.min(V, v0 + perPart);
      out.parts.push(await this.loadWeight(name, [v1 - v0, C], [v0, v1]));
      out.starts.push(v1);
    }
    return out;
  }

  async global(): Promise<GlobalWeights<T>> {
    if (this.globals) return this.globals;
    const { cfg, ckpt } = this;
    const a = familyOf(cfg).names;
    const normBias = familyOf(cfg).norm === 'layer';
    const C = cfg.hidden;
    const embedTokens = await this.loadRows(a.embedTokens, cfg.vocab, C);
    const lmHead = ckpt.has(a.lmHead) ? await this.loadRows(a.lmHead, cfg.vocab, C) : embedTokens;
    this.globals = {
      embedTokens,
      embedPositions: a.embedPositions
        ? await this.loadWeight(a.embedPositions, [cfg.maxPositions + cfg.positionOffset, C])
        : null,
      finalNorm: {
        g: await this.load(`${a.finalNorm}.weight`, [C]),
        b: normBias ? await this.load(`${a.finalNorm}.bias`, [C]) : null,
      },
      lmHead,
      rope: cfg.rope ? this.ropeTables() : null,
    };
    return this.globals;
  }

  /** cos/sin of position × inverse frequency, in f32 as HF computes them, with rope_scaling applied. */
  private ropeTables(): { cos: T; sin: T } {
    const { cfg } = this;
    const half = cfg.headDim / 2;
    const inv = ropeInverseFrequencies(cfg);
    const P = cfg.maxPositions;
    const cos = new Float32Array(P * half);
    const sin = new Float32Array(P * half);
    for (let p = 0; p < P; p++)
      for (let i = 0; i < half; i++) {
        const angle = Math.fround(p * inv[i]);
        cos[p * half + i] = Math.cos(angle);
        sin[p * half + i] = Math.sin(angle);
      }
    return { cos: this.be.fromHost(cos, [P, half]), sin: this.be.fromHost(sin, [P, half]) };
  }

  async block(i: number): Promise<BlockWeights<T>> {
    const cached = this.blocks.get(i);
    if (cached) return cached;
    const block = await this.checkpointBlock(i);
    if (this.blocks.size < this.residentBlocks) this.blocks.set(i, block);
    return block;
  }

  /** Block i from the checkpoint straight to the backend: weights in their storage format, norms and biases f32. */
  private async checkpointBlock(i: number): Promise<BlockWeights<T>> {
    const { cfg, ckpt } = this;
    const f = familyOf(cfg);
    const p = f.names.layerPrefix(i);
    const C = cfg.hidden;
    const linears: BlockWeights<T>['linears'] = {};
    for (const { module, roles } of checkpointModules(cfg)) {
      const parts = roles.map((role) => ({ role, at: linearTensor(cfg, i, role) }));
      const bias = async (t: LinearTensor) => (hasBias(cfg, parts[0].role) ? await this.loadF32Rows(t, 'bias') : null);
      if (cfg.gptq) {
        // a fused module is dequantized once, then split into its layers' rows
        const l = await readGptqLayer(ckpt, cfg.gptq, `${p}.${module}`);
        const Ws = this.dequantizeOnBackend(
          l,
          parts.map(({ at }) => at.rows ?? [0, l.N]),
        );
        for (const [j, { role, at }] of parts.entries()) linears[role] = { W: Ws[j], b: await bias(at) };
        continue;
      }
      for (const { role, at } of parts) {
        const info = ckpt.info(`${at.module}.weight`);
        if (!info) throw new MissingTensorError(`the checkpoint has no tensor "${at.module}.weight"`);
        const shape = at.rows ? [at.rows[1] - at.rows[0], info.shape[1]] : info.shape;
        linears[role] = { W: await this.loadWeight(`${at.module}.weight`, shape, at.rows), b: await bias(at) };
      }
    }
    const norm = async (n: string): Promise<Norm<T>> => ({
      g: await this.load(`${p}.${n}.weight`, [C]),
      b: f.norm === 'layer' ? await this.load(`${p}.${n}.bias`, [C]) : null,
      perm: null,
    });
    return { attnNorm: await norm(f.names.attnNorm), ffnNorm: await norm(f.names.ffnNorm), linears };
  }

  /** A linear layer's bias (or weight) in f32 on the backend: the module's, or its rows of a fused module. */
  private async loadF32Rows(t: LinearTensor, tensor: 'weight' | 'bias'): Promise<T> {
    const name = `${t.module}.${tensor}`;
    const data = t.rows ? await this.ckpt.readRowsF32(name, t.rows[0], t.rows[1]) : await this.ckpt.readF32(name);
    return this.be.fromHost(data, [t.rows ? t.rows[1] - t.rows[0] : data.length]);
  }

  /**
   * A packed GPTQ layer dequantized on the backend (gptqDequant.wgsl) into row parts (a fused module's layers, or the
   * whole layer), each kept in the linear layers' storage format.
   */
  private dequantizeOnBackend(l: GptqLayer, parts: [number, number][]): T[] {
    const { be } = this;
    const t = {
      qweight: be.ids(l.qweight),
      qzeros: be.ids(l.qzeros),
      scales: be.fromHost16(l.scales, 'f16', [l.groups, l.N]),
      gIdx: be.ids(l.gIdx),
    };
    const W = be.checkpoint.gptqDequant(t.qweight, t.qzeros, t.scales, t.gIdx, l.bits, l.N, l.K, l.groups);
    for (const x of Object.values(t)) be.release(x);
    const format = this.linearFormat;
    const whole = parts.length === 1 && parts[0][0] === 0 && parts[0][1] === l.N;
    const split = whole ? [W] : parts.map(([r0, r1]) => be.rows(W, r0, r1));
    if (!whole) be.release(W);
    if (format === 'f32') return split;
    return split.map((x) => {
      const x16 = be.pack16(x, format);
      be.release(x);
      return x16;
    });
  }

  /** Block i as the checkpoint holds it, on the host. */
  hostBlock(i: number): Promise<HostBlock> {
    return readHostBlock(this.cfg, this.ckpt, i);
  }

  /** Host weights → backend tensors. */
  upload(h: HostBlock): BlockWeights<T> {
    const { be } = this;
    const C = this.cfg.hidden;
    const norm = (n: HostNorm): Norm<T> => ({
      g: be.fromHost(n.g, [C]),
      b: n.b ? be.fromHost(n.b, [C]) : null,
      perm: n.perm ? be.ids(n.perm) : null,
    });
    const linears: BlockWeights<T>['linears'] = {};
    for (const [role, l] of Object.entries(h.linears)) {
      linears[role as LinearRole] = {
        W: this.uploadLinear(l!.W, l!.shape),
        b: l!.b ? be.fromHost(l!.b, [l!.shape[0]]) : null,
      };
    }
    const block: BlockWeights<T> = { attnNorm: norm(h.attnNorm), ffnNorm: norm(h.ffnNorm), linears };
    if (h.rotations) block.rotations = uploadRotations(be, h.rotations);
    if (h.act) block.act = uploadActQuant(be, h.act);
    if (h.probLevels) block.probLevels = h.probLevels;
    return block;
  }

  /**
   * A finished quantized block's layers kept packed from now on: each given layer's dense weights leave the backend
   * and its codes, scales and zero points take their place (the bias stays). Returns the bytes it saved.
   */
  pack(block: BlockWeights<T>, layers: Partial<Record<LinearRole, HostPacked>>): number {
    let saved = 0;
    for (const [role, h] of Object.entries(layers) as [LinearRole, HostPacked][]) {
      const l = block.linears[role];
      if (!l || l.packed) continue;
      const dense = this.be.storage(l.W) === 'f32' ? 4 : 2;
      const packed = uploadPacked(this.be, h, this.linearFormat);
      saved += dense * h.N * h.K - packed.bytes;
      this.be.release(l.W);
      block.linears[role] = { b: l.b, packed };
    }
    return saved;
  }

  /** Bytes the resident blocks' linear weights take on the backend now (dense or packed; biases not counted). */
  layerBytes(): number {
    let n = 0;
    for (const b of this.blocks.values())
      for (const l of Object.values(b.linears)) {
        if (l!.packed) n += l!.packed.bytes;
        else n += this.be.shape(l!.W).reduce((a, c) => a * c, 1) * (this.be.storage(l!.W) === 'f32' ? 4 : 2);
      }
    return n;
  }

  /** Called after a block ran: a streamed (non-resident) block's tensors are released. */
  done(i: number, block: BlockWeights<T>): void {
    if (this.blocks.get(i) === block) return;
    releaseBlock(this.be, block);
  }

  /** Replaces a block's weights (a quantized block, later), releasing the old tensors. */
  replace(i: number, block: BlockWeights<T>): void {
    const old = this.blocks.get(i);
    if (old && old !== block) releaseBlock(this.be, old);
    this.blocks.set(i, block);
  }

  dispose(): void {
    for (const b of this.blocks.values()) releaseBlock(this.be, b);
    this.blocks.clear();
    if (this.globals) {
      const g = this.globals;
      for (const t of [
        ...g.embedTokens.parts,
        g.embedPositions,
        g.finalNorm.g,
        g.finalNorm.b,
        g.rope?.cos,
        g.rope?.sin,
      ])
        this.be.release(t ?? null);
      if (g.lmHead !== g.embedTokens) g.lmHead.parts.forEach((t) => this.be.release(t));
      this.globals = null;
    }
  }
}

/** Block i as the checkpoint holds it, on the host, in f32. */
export async function readHostBlock(cfg: ModelConfig, ckpt: Checkpoint, i: number): Promise<HostBlock> {
  const f = familyOf(cfg);
  const p = f.names.layerPrefix(i);
  const linears: HostBlock['linears'] = {};
  const rowsOf = (t: LinearTensor, name: string) =>
    t.rows ? ckpt.readRowsF32(name, t.rows[0], t.rows[1]) : ckpt.readF32(name);
  for (const { module, roles } of checkpointModules(cfg)) {
    // the host twin of the GPU dequantization: a fused module dequantized once, then split into its layers' rows
    const l = cfg.gptq ? await readGptqLayer(ckpt, cfg.gptq, `${p}.${module}`) : null;
    const packed = l && dequantizeGptq({ ...l, scales: fromHalfBits(l.scales, 'f16') }, l.N, l.K, l.bits);
    for (const role of roles) {
      const t = linearTensor(cfg, i, role);
      const b = hasBias(cfg, role) ? await rowsOf(t, `${t.module}.bias`) : null;
      if (l && packed) {
        const [r0, r1] = t.rows ?? [0, l.N];
        linears[role] = { W: packed.slice(r0 * l.K, r1 * l.K), shape: [r1 - r0, l.K], b };
        continue;
      }
      const info = ckpt.info(`${t.module}.weight`);
      if (!info) throw new MissingTensorError(`the checkpoint has no tensor "${t.module}.weight"`);
      const shape: [number, number] = t.rows ? [t.rows[1] - t.rows[0], info.shape[1]] : [info.shape[0], info.shape[1]];
      linears[role] = { W: await rowsOf(t, `${t.module}.weight`), shape, b };
    }
  }
  const norm = async (n: string): Promise<HostNorm> => ({
    g: await ckpt.readF32(`${p}.${n}.weight`),
    b: f.norm === 'layer' ? await ckpt.readF32(`${p}.${n}.bias`) : null,
    perm: null,
  });
  return { attnNorm: await norm(f.names.attnNorm), ffnNorm: await norm(f.names.ffnNorm), linears };
}

export function uploadActQuant<T>(
  be: Backend<T>,
  act: Partial<Record<ActSite, HostActQuant | TokenQuant>>,
): Partial<Record<ActSite, SiteQuantizer<T>>> {
  const out: Partial<Record<ActSite, SiteQuantizer<T>>> = {};
  for (const [site, a] of Object.entries(act) as [ActSite, HostActQuant | TokenQuant][]) {
    out[site] = isTokenQuant(a)
      ? { ...a }
      : { cluster: be.ids(a.cluster), params: be.fromHost(a.params, [a.params.length / 2, 2]), maxq: a.maxq };
  }
  return out;
}

export function releaseActQuant<T>(be: Backend<T>, act: Partial<Record<ActSite, SiteQuantizer<T>>> | undefined): void {
  for (const a of Object.values(act ?? {})) {
    if (isTokenQuant(a)) continue;
    be.release(a.cluster);
    be.release(a.params);
  }
}

export function uploadRotations<T>(
  be: Backend<T>,
  rot: Partial<Record<ActSite, HostRotationStep[]>>,
): Partial<Record<ActSite, RotationStep<T>[]>> {
  const out: Partial<Record<ActSite, RotationStep<T>[]>> = {};
  for (const [site, steps] of Object.entries(rot) as [ActSite, HostRotationStep[]][]) {
    out[site] = steps.map((s) => ({
      R: be.fromHost(s.R, [s.R.length / (s.n * s.n), s.n, s.n]),
      n: s.n,
      perm: s.perm ? be.ids(s.perm) : null,
    }));
  }
  return out;
}

export function releaseRotations<T>(
  be: Backend<T>,
  rot: Partial<Record<ActSite, RotationStep<T>[]>> | undefined,
): void {
  for (const steps of Object.values(rot ?? {})) for (const s of steps) (be.release(s.R), be.release(s.perm));
}

export function releaseBlock<T>(be: Backend<T>, b: BlockWeights<T>): void {
  releaseActQuant(be, b.act);
  releaseRotations(be, b.rotations);
  for (const n of [b.attnNorm, b.ffnNorm]) {
    be.release(n.g);
    be.release(n.b);
    be.release(n.perm ?? null);
  }
  for (const l of Object.values(b.linears)) {
    if (l!.packed) releasePacked(be, l!.packed);
    else be.release(l!.W);
    be.release(l!.b);
  }
}

/** HF's inverse frequencies θ^(−2i/D), with linear or llama3 rope_scaling. */
export function ropeInverseFrequencies(cfg: ModelConfig): Float32Array {
  const rope = cfg.rope!;
  const D = cfg.headDim;
  const inv = new Float32Array(D / 2);
  for (let i = 0; i < D / 2; i++) inv[i] = 1 / rope.theta ** ((2 * i) / D);
  const s = rope.scaling;
  if (s.type === 'linear') for (let i = 0; i < inv.length; i++) inv[i] /= s.factor;
  if (s.type === 'llama3') {
    const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
    const highWavelen = s.originalMaxPositions / s.highFreqFactor;
    for (let i = 0; i < inv.length; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      if (wavelen > lowWavelen) inv[i] /= s.factor;
      else if (wavelen >= highWavelen) {
        const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        inv[i] = (1 - smooth) * (inv[i] / s.factor) + smooth * inv[i];
      }
    }
  }
  return inv;
}
