"""A fused CPU prototype of ``soft_wta`` (not part of the library): how close to the matmul peak
the rule gets when its elementwise work is fused, beside the eager rule, in one process.

`python benchmarks/soft_wta_fused.py [--threads N]` compiles three small C++ kernels with
``torch.utils.cpp_extension.load_inline`` (needs a C++ compiler with OpenMP and ``pip install
ninja``; about 25 s the first time, cached under ~/.cache/torch_extensions), checks them against
``neuroplastic.rules.soft_wta`` (anti-Hebbian, tau = 1, normalised, power 0.5), then times
forward + update for a 2,000 x 784 layer at batch 256 as ``rules.py`` does, against the best
of three float32 products in the same run. The kernels:

* per row of the activations: the max, the first maximum, the exponentials and their sum, the
  anti-Hebbian softmax y and the decay coefficients c (one thread-local partial per thread);
* after the product y^T x into a fresh update (beta = 0): one pass for the decay -c w, the
  weight norms and max |dw|;
* one pass for the per-row rate / max |dw|.

Measured on the 2-core development machine (session 3): 0.893-0.896 of the peak in the runs
whose forward product ran fast, the eager rule 0.860-0.861, two products 0.954-0.955. Not shipped:
results would depend on a compiler at run time and on the platform's ``expf``.
"""
import argparse

import torch
from torch.utils.cpp_extension import load_inline

from _timing import keep_freed_memory, timeit_interleaved

from neuroplastic.rules import oja, soft_wta

OUT, IN, B = 2000, 784, 256

SOURCE = r"""
#include <torch/extension.h>
#include <omp.h>
#include <algorithm>
#include <cmath>
#include <vector>

// y <- the anti-Hebbian softmax of each row of post (the first maximum keeps +y, the rest -y);
// returns c[k] = sum_b y[b, k] post[b, k]
torch::Tensor softmax_signs_decay(torch::Tensor post, torch::Tensor y) {
  const int64_t rows = post.size(0), K = post.size(1);
  const float* p = post.data_ptr<float>();
  float* yy = y.data_ptr<float>();
  const int nt = omp_get_max_threads();
  std::vector<float> part((size_t)nt * K, 0.f);
  #pragma omp parallel
  {
    float* cl = part.data() + (size_t)omp_get_thread_num() * K;
    #pragma omp for schedule(static)
    for (int64_t b = 0; b < rows; ++b) {
      const float* pr = p + b * K;
      float* yr = yy + b * K;
      float m = pr[0];
      #pragma omp simd reduction(max:m)
      for (int64_t k = 0; k < K; ++k) m = std::max(m, pr[k]);
      int64_t win = 0;
      while (pr[win] != m) ++win;
      float s = 0.f;
      #pragma omp simd reduction(+:s)
      for (int64_t k = 0; k < K; ++k) { const float e = expf(pr[k] - m); yr[k] = e; s += e; }
      const float neg_inv = -1.f / s;
      #pragma omp simd
      for (int64_t k = 0; k < K; ++k) { const float v = yr[k] * neg_inv; yr[k] = v; cl[k] += v * pr[k]; }
      yr[win] = -yr[win];
      cl[win] += 2.f * yr[win] * pr[win];
    }
  }
  auto c = torch::zeros({K}, post.options());
  float* cc = c.data_ptr<float>();
  for (int t = 0; t < nt; ++t)
    for (int64_t k = 0; k < K; ++k) cc[k] += part[(size_t)t * K + k];
  return c;
}

// dw <- dw - c w (rows), rate[k] = (| ||w_k|| - 1 | + 1e-10)^power; returns max |dw|
double decay_norms_max(torch::Tensor dw, torch::Tensor w, torch::Tensor c, torch::Tensor rate, double power) {
  const int64_t K = dw.size(0), N = dw.size(1);
  float* g = dw.data_ptr<float>();
  const float* ww = w.data_ptr<float>();
  const float* cc = c.data_ptr<float>();
  float* rr = rate.data_ptr<float>();
  float top = 0.f;
  #pragma omp parallel for schedule(static) reduction(max:top)
  for (int64_t k = 0; k < K; ++k) {
    float* gr = g + k * N;
    const float* wr = ww + k * N;
    const float ck = cc[k];
    float ss = 0.f, lm = 0.f;
    #pragma omp simd reduction(+:ss) reduction(max:lm)
    for (int64_t j = 0; j < N; ++j) {
      const float wv = wr[j];
      ss += wv * wv;
      const float v = gr[j] - ck * wv;
      gr[j] = v;
      lm = std::max(lm, std::fabs(v));
    }
    rr[k] = std::pow(std::fabs(std::sqrt(ss) - 1.f) + 1e-10f, (float)power);
    top = std::max(top, lm);
  }
  return top;
}

void scale_rows(torch::Tensor dw, torch::Tensor rate, double inv_top) {
  const int64_t K = dw.size(0), N = dw.size(1);
  float* g = dw.data_ptr<float>();
  const float* rr = rate.data_ptr<float>();
  #pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < K; ++k) {
    const float f = rr[k] * (float)inv_top;
    float* gr = g + k * N;
    #pragma omp simd
    for (int64_t j = 0; j < N; ++j) gr[j] *= f;
  }
}
"""


def build():
    return load_inline("neuroplastic_soft_wta_fused", cpp_sources=SOURCE,
                       functions=["softmax_signs_decay", "decay_norms_max", "scale_rows"],
                       extra_cflags=["-O3", "-march=native", "-fopenmp", "-ffast-math"],
                       extra_ldflags=["-fopenmp"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args()
    keep_freed_memory()
    ext = build()
    torch.set_num_threads(args.threads)

    def fused(w, pre, post, power=0.5):
        y = torch.empty_like(post)
        c = ext.softmax_signs_decay(post, y)
        dw = torch.mm(y.T, pre)
        rate = torch.empty(len(w), 1)
        top = ext.decay_norms_max(dw, w, c, rate, power)
        ext.scale_rows(dw, rate, 1.0 / max(top, 1e-30))
        return dw

    g = torch.Generator().manual_seed(0)
    w = torch.randn(OUT, IN, generator=g) / IN ** 0.5
    x = torch.rand(B, IN, generator=g)
    torch.testing.assert_close(fused(w, x, x @ w.T), soft_wta(w, x, x @ w.T), rtol=1e-4, atol=1e-5)
    a, b = torch.rand(1024, 1024, generator=g), torch.rand(1024, 1024, generator=g)
    y_fixed = torch.rand(B, OUT, generator=g)
    products = {"matmul, forward shape": (lambda: x @ w.T, 2 * B * OUT * IN),
                "matmul, update shape": (lambda: y_fixed.T @ x, 2 * B * OUT * IN),
                "matmul, 1024 square": (lambda: a @ b, 2 * 1024 ** 3)}
    rules = {"two matrix products": lambda: (x @ w.T).T @ x, "soft_wta (eager)": lambda: soft_wta(w, x, x @ w.T),
             "soft_wta (fused prototype)": lambda: fused(w, x, x @ w.T), "oja": lambda: oja(w, x, x @ w.T)}
    t = timeit_interleaved({**{k: f for k, (f, _) in products.items()}, **rules}, min_s=6.0)
    peak = max(n / t[k] for k, (_, n) in products.items())
    for k, v in t.items():
        n = products[k][1] if k in products else 4 * B * OUT * IN
        print(f"{k:28s} {1e3 * v:7.3f} ms  {n / v / 1e9:6.1f} GFLOP/s  {n / v / peak:.3f} of the peak")


if __name__ == "__main__":
    main()
