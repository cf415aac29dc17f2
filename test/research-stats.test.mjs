// The sweep's statistics against closed forms and published table values.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { studentTCdf, studentTTwoSided, studentTQuantile, logGamma, regularizedBeta, pairedTTest, pairedBootstrap, mean, sampleSd } from "../dist/internal.js";

const near = (a, b, tol, what) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test("logGamma and the incomplete beta against closed forms", () => {
  near(logGamma(5), Math.log(24), 1e-13, "lnΓ(5)");
  near(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-13, "lnΓ(1/2)");
  near(logGamma(10.5), 13.940625219403763, 1e-12, "lnΓ(10.5)");
  // I_x(1, b) = 1 − (1 − x)^b; I_x(a, 1) = x^a
  near(regularizedBeta(0.3, 1, 4), 1 - 0.7 ** 4, 1e-14, "I(1,4)");
  near(regularizedBeta(0.8, 3, 1), 0.8 ** 3, 1e-14, "I(3,1)");
});

test("Student's t CDF: df 1 (Cauchy) and df 2 closed forms, table quantiles", () => {
  for (const t of [-7, -1.3, 0, 0.4, 1, 2.5, 30]) {
    near(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-13, `df1 t=${t}`);
    near(studentTCdf(t, 2), 0.5 + t / (2 * Math.sqrt(2 + t * t)), 1e-13, `df2 t=${t}`);
  }
  // two-sided 5 % critical values (standard t tables)
  for (const [df, t] of [[1, 12.7062047364], [2, 4.30265272975], [5, 2.57058183661], [10, 2.22813885196], [30, 2.04227245630]]) {
    near(studentTTwoSided(t, df), 0.05, 1e-9, `p(df ${df})`);
    near(studentTQuantile(0.975, df), t, 1e-8, `q(df ${df})`);
  }
  // by Simpson integration of the t density (200,000 panels, Python float64)
  near(studentTTwoSided(2, 5), 0.1019394788298652, 1e-10, "p(t=2, df=5)");
  near(studentTCdf(-1.5, 1000), 0.06696501941102007, 1e-9, "df 1000");
});

test("paired t-test: hand-computed example", () => {
  const a = [3.1, 3.4, 2.9, 3.3];
  const b = [3.0, 3.1, 2.8, 3.0];
  const r = pairedTTest(a, b);
  const d = [0.1, 0.3, 0.1, 0.3];
  near(r.meanDiff, 0.2, 1e-12, "mean");
  const t = mean(d) / (sampleSd(d) / 2);
  near(r.t, t, 1e-9, "t");
  assert.is(r.df, 3);
  near(r.p, studentTTwoSided(t, 3), 1e-12, "p");
  near(r.p, 0.040519326353814056, 1e-9, "p (t = √12, df 3; Simpson integration of the density)");
  near(r.ci[1] - r.ci[0], 2 * 3.18244630528 * sampleSd(d) / 2, 1e-8, "CI width");
  assert.is(pairedTTest([1], [0]).p, null, "one pair: no test");
});

test("paired bootstrap: seeded, CI covers the mean, p small for a clear shift and large for none", () => {
  const shift = Array.from({ length: 40 }, (_, i) => 0.05 + 0.01 * Math.sin(i));
  const r1 = pairedBootstrap(shift, { seed: 7, resamples: 2000 });
  const r2 = pairedBootstrap(shift, { seed: 7, resamples: 2000 });
  assert.equal(r1, r2, "same seed, same result");
  assert.ok(r1.ci[0] <= r1.meanDiff && r1.meanDiff <= r1.ci[1]);
  assert.ok(r1.p < 0.001, `clear shift p ${r1.p}`);
  const noise = Array.from({ length: 40 }, (_, i) => (i % 2 ? 1 : -1) * (0.5 + 0.01 * i));
  const r3 = pairedBootstrap(noise, { seed: 3, resamples: 2000 });
  assert.ok(r3.p > 0.3, `no shift p ${r3.p}`);
  assert.ok(r3.ci[0] < 0 && r3.ci[1] > 0);
  assert.match(r1.method, /paired bootstrap over validation windows/);
});

test.run();
