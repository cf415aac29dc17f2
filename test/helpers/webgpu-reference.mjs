// Float64 JS references of every Backend op (used by the wasm kernel tests and the WebGPU tests), written from the definitions in
// host/backend/backend.ts and docs/model-and-jreg.md (not from either backend's code). Inputs
// are Float32Array/Int32Array; outputs are Float64Array. Backward references
// return the increments (the tests add them to the gradients' initial values).

export function embeddingForward(tokens, table, n, c) {
  const out = new Float64Array(n * c);
  for (let i = 0; i < n; i++) for (let j = 0; j < c; j++) out[i * c + j] = table[tokens[i] * c + j];
  return out;
}
export function embeddingBackward(tokens, dout, n, c, vocab) {
  const d = new Float64Array(vocab * c);
  for (let i = 0; i < n; i++) for (let j = 0; j < c; j++) d[tokens[i] * c + j] += dout[i * c + j];
  return d;
}

export function rmsnormForward(x, w, n, c, eps) {
  const out = new Float64Array(n * c);
  const rstd = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let ss = 0;
    for (let j = 0; j < c; j++) ss += x[i * c + j] ** 2;
    rstd[i] = 1 / Math.sqrt(ss / c + eps);
    for (let j = 0; j < c; j++) out[i * c + j] = w[j] * x[i * c + j] * rstd[i];
  }
  return { out, rstd };
}
export function rmsnormBackward(dout, x, w, n, c, eps) {
  const { rstd } = rmsnormForward(x, w, n, c, eps);
  const dx = new Float64Array(n * c);
  const dw = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    const r = rstd[i];
    let dot = 0;
    for (let j = 0; j < c; j++) dot += dout[i * c + j] * w[j] * x[i * c + j];
    for (let j = 0; j < c; j++) {
      dx[i * c + j] = dout[i * c + j] * w[j] * r - x[i * c + j] * r * r * r * dot / c;
      dw[j] += dout[i * c + j] * x[i * c + j] * r;
    }
  }
  return { dx, dw };
}

/** C = op(A)·op(B) for "nt" (B [n,k]), "nn" (B [k,n]), "tn" (A [k,m]). */
export function matmul(a, b, m, n, k, layout) {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const av = layout === "tn" ? a[p * m + i] : a[i * k + p];
        const bv = layout === "nt" ? b[j * k + p] : b[p * n + j];
        s += av * bv;
      }
      out[i * n + j] = s;
    }
  return out;
}

export function ropeTables(t, hd, theta) {
  const half = hd / 2;
  const cos = new Float32Array(t * half);
  const sin = new Float32Array(t * half);
  for (let p = 0; p < t; p++)
    for (let i = 0; i < half; i++) {
      const a = p * Math.pow(theta, (-2 * i) / hd);
      cos[p * half + i] = Math.cos(a);
      sin[p * half + i] = Math.sin(a);
    }
  return { cos, sin };
}
export function rope(x, cos, sin, b, t, heads, hd, inverse) {
  const half = hd / 2;
  const out = Float64Array.from(x);
  const sign = inverse ? -1 : 1;
  for (let bi = 0; bi < b; bi++)
    for (let p = 0; p < t; p++)
      for (let h = 0; h < heads; h++) {
        const base = ((bi * t + p) * heads + h) * hd;
        for (let i = 0; i < half; i++) {
          const c = cos[p * half + i];
          const s = sin[p * half + i] * sign;
          const x1 = x[base + i];
          const x2 = x[base + i + half];
          out[base + i] = x1 * c - x2 * s;
          out[base + i + half] = x2 * c + x1 * s;
        }
      }
  return out;
}

/** Causal GQA attention with explicit probabilities; returns out, lse and the backward. */
export function attention(q, k, v, dout, b, t, heads, kvHeads, hd) {
  const group = heads / kvHeads;
  const scale = 1 / Math.sqrt(hd);
  const out = new Float64Array(b * t * heads * hd);
  const lse = new Float64Array(b * heads * t);
  const dq = new Float64Array(q.length);
  const dk = new Float64Array(k.length);
  const dv = new Float64Array(v.length);
  const qo = (bi, i, h) => ((bi * t + i) * heads + h) * hd;
  const ko = (bi, j, g) => ((bi * t + j) * kvHeads + g) * hd;
  for (let bi = 0; bi < b; bi++)
    for (let h = 0; h < heads; h++) {
      const g = Math.floor(h / group);
      for (let i = 0; i < t; i++) {
        const s = new Float64Array(i + 1);
        let m = -Infinity;
        for (let j = 0; j <= i; j++) {
          let d = 0;
          for (let e = 0; e < hd; e++) d += q[qo(bi, i, h) + e] * k[ko(bi, j, g) + e];
          s[j] = d * scale;
          m = Math.max(m, s[j]);
        }
        let sum = 0;
        for (let j = 0; j <= i; j++) sum += Math.exp(s[j] - m);
        lse[(bi * heads + h) * t + i] = m + Math.log(sum);
        const p = s.map((x) => Math.exp(x - m) / sum);
        for (let j = 0; j <= i; j++) for (let e = 0; e < hd; e++) out[qo(bi, i, h) + e] += p[j] * v[ko(bi, j, g) + e];
        if (!dout) continue;
        // backward: dp_j = dout·v_j, ds_j = p_j (dp_j − Σ p dp)
        const dp = new Float64Array(i + 1);
        let pdp = 0;
        for (let j = 0; j <= i; j++) {
          let d = 0;
          for (let e = 0; e < hd; e++) d += dout[qo(bi, i, h) + e] * v[ko(bi, j, g) + e];
          dp[j] = d;
          pdp += p[j] * d;
        }
        for (let j = 0; j <= i; j++) {
          const ds = p[j] * (dp[j] - pdp) * scale;
          for (let e = 0; e < hd; e++) {
            dq[qo(bi, i, h) + e] += ds * k[ko(bi, j, g) + e];
            dk[ko(bi, j, g) + e] += ds * q[qo(bi, i, h) + e];
            dv[ko(bi, j, g) + e] += p[j] * dout[qo(bi, i, h) + e];
          }
        }
      }
    }
  return { out, lse, dq, dk, dv };
}

export function swiglu(gate, up, dout) {
  const n = gate.length;
  const out = new Float64Array(n), dgate = new Float64Array(n), dup = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const g = gate[i];
    const s = 1 / (1 + Math.exp(-g));
    out[i] = g * s * up[i];
    if (dout) {
      dgate[i] = dout[i] * up[i] * s * (1 + g * (1 - s));
      dup[i] = dout[i] * g * s;
    }
  }
  return { out, dgate, dup };
}

export function crossEntropy(logits, targets, n, v, scale) {
  const losses = new Float64Array(n), lse = new Float64Array(n), dlogits = new Float64Array(n * v);
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let j = 0; j < v; j++) m = Math.max(m, logits[i * v + j]);
    let s = 0;
    for (let j = 0; j < v; j++) s += Math.exp(logits[i * v + j] - m);
    lse[i] = m + Math.log(s);
    losses[i] = lse[i] - logits[i * v + targets[i]];
    for (let j = 0; j < v; j++) dlogits[i * v + j] = (Math.exp(logits[i * v + j] - lse[i]) - (j === targets[i] ? 1 : 0)) * scale;
  }
  return { losses, lse, dlogits };
}

export function cosine(a, b, n, c, dcos) {
  const cos = new Float64Array(n), na = new Float64Array(n), nb = new Float64Array(n);
  const da = new Float64Array(n * c), db = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    let ab = 0, aa = 0, bb = 0;
    for (let j = 0; j < c; j++) {
      ab += a[i * c + j] * b[i * c + j];
      aa += a[i * c + j] ** 2;
      bb += b[i * c + j] ** 2;
    }
    na[i] = Math.sqrt(aa);
    nb[i] = Math.sqrt(bb);
    const denom = Math.max(na[i] * nb[i], 1e-8);
    cos[i] = ab / denom;
    if (!dcos) continue;
    for (let j = 0; j < c; j++) {
      if (na[i] * nb[i] > 1e-8) {
        da[i * c + j] = dcos[i] * (b[i * c + j] / (na[i] * nb[i]) - cos[i] * a[i * c + j] / aa);
        db[i * c + j] = dcos[i] * (a[i * c + j] / (na[i] * nb[i]) - cos[i] * b[i * c + j] / bb);
      } else {
        da[i * c + j] = dcos[i] * b[i * c + j] / 1e-8;
        db[i * c + j] = dcos[i] * a[i * c + j] / 1e-8;
      }
    }
  }
  return { cos, na, nb, da, db };
}

const LOSS_LIMIT = Math.fround(1 - 1e-7);
export function distance(cos, kind) {
  return Float64Array.from(cos, (c) => {
    if (kind === 0) return 1 - c;
    const lim = kind === 1 ? 1 : LOSS_LIMIT;
    return Math.acos(Math.min(Math.max(c, -lim), lim)) / Math.PI;
  });
}
export function distanceGrad(cos, kind, coef) {
  return Float64Array.from(cos, (c) => {
    if (kind === 0) return -coef;
    const lim = kind === 1 ? 1 : LOSS_LIMIT;
    if (c < -lim || c > lim) return 0;
    return -coef / (Math.PI * Math.sqrt(1 - c * c));
  });
}

/** R, Loss and α·dR/dD_l from the profile (backend.ts JregScalarsSpec). */
export function jregScalars(ce, profile, spec) {
  const A = profile.reduce((s, d, l) => s + spec.numerator[l] * d, 0);
  const mid = spec.denominator ? profile.reduce((s, d, l) => s + spec.denominator[l] * d, 0) : 1;
  const R = spec.denominator ? A / mid : A;
  const coef = profile.map((_, l) =>
    spec.alpha === 0 ? 0 : spec.alpha * (spec.denominator ? spec.numerator[l] / mid - (A * spec.denominator[l]) / (mid * mid) : spec.numerator[l]),
  );
  return { R, loss: spec.alpha === 0 ? ce : ce + spec.alpha * R, coef };
}

/** torch.optim.AdamW, one step t on f64 copies (g already clipped). */
export function adamw(p, g, m, v, h, t) {
  const P = Float64Array.from(p), M = Float64Array.from(m), V = Float64Array.from(v);
  for (let i = 0; i < p.length; i++) {
    if (i < h.decayLength) P[i] *= 1 - h.lr * h.weightDecay;
    M[i] = h.beta1 * M[i] + (1 - h.beta1) * g[i];
    V[i] = h.beta2 * V[i] + (1 - h.beta2) * g[i] * g[i];
    const mhat = M[i] / (1 - h.beta1 ** t);
    const denom = Math.sqrt(V[i]) / Math.sqrt(1 - h.beta2 ** t) + h.eps;
    P[i] -= (h.lr * M[i]) / (1 - h.beta1 ** t) / denom;
    void mhat;
  }
  return { p: P, m: M, v: V };
}
