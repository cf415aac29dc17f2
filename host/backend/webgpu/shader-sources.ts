// The WGSL op families, embedded in the bundle as text so that Node, Deno and
// browsers need no file access or fetch to compile them.
import attention from "../../../shaders/attention.wgsl";
import bias from "../../../shaders/bias.wgsl";
import crossEntropy from "../../../shaders/cross-entropy.wgsl";
import elementwise from "../../../shaders/elementwise.wgsl";
import embedding from "../../../shaders/embedding.wgsl";
import jreg from "../../../shaders/jreg.wgsl";
import matmul from "../../../shaders/matmul.wgsl";
import optimizer from "../../../shaders/optimizer.wgsl";
import reduce from "../../../shaders/reduce.wgsl";
import rmsnorm from "../../../shaders/rmsnorm.wgsl";
import rope from "../../../shaders/rope.wgsl";
import step from "../../../shaders/step.wgsl";
import swiglu from "../../../shaders/swiglu.wgsl";

export const SHADERS = {
  attention,
  bias,
  crossEntropy,
  elementwise,
  embedding,
  jreg,
  matmul,
  optimizer,
  reduce,
  rmsnorm,
  rope,
  step,
  swiglu,
} as const;

export type ShaderName = keyof typeof SHADERS;
