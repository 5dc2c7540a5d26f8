// Undoes simd_avx2.h or simd_avx512.h, so that the next instruction set can define the vocabulary again.
#undef NAME
#undef vec
#undef W
#undef vload
#undef vstore
#undef vload_lanes
#undef vstore_lanes
#undef vset1
#undef vzero
#undef vfma
#undef vmul
#undef vadd
#undef vsub
#undef vmax
#undef vexp_nonpositive
