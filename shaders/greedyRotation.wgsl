// DuQuant's greedy rotation search on the GPU, with no read-back between steps. The activation W is viewed as
// [rows, n] (every block of the width pooled, as the reference reshapes it); each step is two dispatches:
//   greedyPick   one workgroup reduces W to its largest and smallest entries (first index on ties), records the
//                peak max − min for this step, and the channel c of the entry of larger |value| (its index mod n,
//                or with REF_EXCHANGE the reference's row index mod n);
//   greedyApply  y = W · P_c·A·P_c, A = B·diag(1, Q) fixed for the search, P_c the swap of channels 0 and c read from
//                the step's record: y[r, j] = Σ_k W[r, k] · A[σ(k), σ(j)], σ = (0 c).
// The host reads the peaks and channels once at the end and keeps the prefix up to the first smallest peak; the kept
// rotation is greedyApply's steps replayed on the identity.
struct PickParams { count: u32, n: u32, step: u32, record: u32, refExchange: u32 }

@group(0) @binding(0) var<storage, read> W: array<f32>;           // [rows · n]
@group(0) @binding(1) var<storage, read_write> peaks: array<f32>; // [steps + 1]
@group(0) @binding(2) var<storage, read_write> chans: array<u32>; // [steps]
@group(0) @binding(3) var<uniform> p: PickParams;

var<workgroup> hiV: array<f32, 256>;
var<workgroup> hiI: array<u32, 256>;
var<workgroup> loV: array<f32, 256>;
var<workgroup> loI: array<u32, 256>;

@compute @workgroup_size(256)
fn greedyPick(@builtin(local_invocation_index) l: u32) {
  var hv = -3.0e38;
  var hi = 0xffffffffu;
  var lv = 3.0e38;
  var li = 0xffffffffu;
  // each thread's indices increase, so a strict comparison keeps its first occurrence
  for (var e = l; e < p.count; e += 256u) {
    let v = W[e];
    if (v > hv) { hv = v; hi = e; }
    if (v < lv) { lv = v; li = e; }
  }
  hiV[l] = hv; hiI[l] = hi; loV[l] = lv; loI[l] = li;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (l < s) {
      let o = l + s;
      if (hiV[o] > hiV[l] || (hiV[o] == hiV[l] && hiI[o] < hiI[l])) { hiV[l] = hiV[o]; hiI[l] = hiI[o]; }
      if (loV[o] < loV[l] || (loV[o] == loV[l] && loI[o] < loI[l])) { loV[l] = loV[o]; loI[l] = loI[o]; }
    }
    workgroupBarrier();
  }
  if (l == 0u) {
    peaks[p.step] = hiV[0] - loV[0];
    if (p.record != 0u) {
      let at = select(loI[0], hiI[0], abs(hiV[0]) > abs(loV[0]));
      chans[p.step] = select(at % p.n, (at / p.n) % p.n, p.refExchange != 0u);
    }
  }
}

struct ApplyParams { rows: u32, n: u32, step: u32 }

@group(0) @binding(0) var<storage, read> X: array<f32>;           // [rows, n]
@group(0) @binding(1) var<storage, read> A: array<f32>;           // [n, n]
@group(0) @binding(2) var<storage, read> steps: array<u32>;       // [steps]
@group(0) @binding(3) var<storage, read_write> y: array<f32>;     // [rows, n]
@group(0) @binding(4) var<uniform> q: ApplyParams;

fn swapped(i: u32, c: u32) -> u32 {
  return select(select(i, 0u, i == c), c, i == 0u);
}

@compute @workgroup_size(64)
fn greedyApply(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = gid.x + gid.y * nwg.x * 64u;
  if (e >= q.rows * q.n) { return; }
  let r = e / q.n;
  let c = steps[q.step];
  let sj = swapped(e % q.n, c);
  var acc = 0.0;
  for (var k = 0u; k < q.n; k++) {
    acc += X[r * q.n + k] * A[swapped(k, c) * q.n + sj];
  }
  y[e] = acc;
}
