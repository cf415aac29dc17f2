// Kernels of this family are added here (forward and backward side by side).
