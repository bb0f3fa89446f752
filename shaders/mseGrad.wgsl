// Mean squared error and its gradient: loss = mean((pred − target)²) over all n elements, grad = 2·(pred − target)/n.
//   grad: one thread per element.
//   loss: one workgroup of WG threads: each sums a strided share with Kahan compensation, then a tree reduction
//         carries every pair's rounding error (TwoSum) along, so the sum is good to a few ulps whatever n is.
struct Params { n: u32, scale: f32 } // scale = 2/n (grad)

const WG: u32 = 256u;

@group(0) @binding(0) var<storage, read> pred: array<f32>;
@group(0) @binding(1) var<storage, read> tgt: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // grad [n], or loss [1]
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn grad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i < p.n) { out[i] = (pred[i] - tgt[i]) * p.scale; }
}

var<workgroup> sums: array<f32, WG>;
var<workgroup> errs: array<f32, WG>;

@compute @workgroup_size(WG)
fn loss(@builtin(local_invocation_index) li: u32) {
  var s = 0.0;
  var c = 0.0; // Kahan: the part of the sum s lost
  for (var i = li; i < p.n; i += WG) {
    let d = pred[i] - tgt[i];
    let y = d * d - c;
    let t = s + y;
    c = (t - s) - y;
    s = t;
  }
  sums[li] = s;
  errs[li] = -c;
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w >>= 1u) {
    if (li < w) {
      // TwoSum: a + b = s + e exactly
      let a = sums[li];
      let b = sums[li + w];
      let t = a + b;
      let bv = t - a;
      let e = (a - (t - bv)) + (b - bv);
      sums[li] = t;
      errs[li] += errs[li + w] + e;
    }
    workgroupBarrier();
  }
  if (li == 0u) { out[0] = (sums[0] + errs[0]) / f32(p.n); }
}
