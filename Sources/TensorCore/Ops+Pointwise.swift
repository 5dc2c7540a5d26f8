// 1×1 convolutions between channel-major maps [B, C, H, W] and tokens [B, H·W, C], as diffusers'
// Transformer2DModel runs them for SD1.x (models/transformers/transformer_2d.py: proj_in, then the permute to
// tokens; the permute back, proj_out, then the residual add): one GEMM with a transposed operand each, so the
// layout change costs no pass of its own, and the residual and bias go in before the product (beta 1).
// Per UNet step at 512² (`lcm bench --arch sd15 --stage unet --profile`), the permutes were 32 calls and
// 0.025 s.

/// The 1×1 convolution of x [B, C_in, H, W] with weight [C_out, C_in, 1, 1] and bias [C_out], written as tokens
/// [B, H·W, C_out] (token y·W + x).
public func conv1x1ToTokens(_ x: Tensor, weight: Weight, bias: Tensor?) -> Tensor {
    let (batch, cin, cout, plane) = pointwiseShapes(x.shape, weight, bias, channelAxis: 1)
    var t = Tensor(uninitialized: [batch, plane, cout])
    FlopCounter.measure("conv1x1", multiplyAccumulates: batch * plane * cout * cin) {
        t.withUnsafeMutableBufferPointer { out in
            let c = out.baseAddress!
            let beta = prefillRows(c, rows: batch * plane, width: cout, bias: bias, residual: nil)
            weight.withFloat32 { w in
                for b in 0..<batch {
                    // tokens [plane, cout] = x_bᵀ [plane, cin] · Wᵀ [cin, cout]
                    BLAS.sgemm(transA: true, transB: true, m: plane, n: cout, k: cin, a: x.data + b * cin * plane,
                               lda: plane, b: w, ldb: cin, beta: beta, c: c + b * plane * cout, ldc: cout)
                }
            }
        }
    }
    return t
}

/// The 1×1 convolution of tokens t [B, H·W, C_in] with weight [C_out, C_in, 1, 1] and bias [C_out], written as a
/// map [B, C_out, height, width], plus `residual` [B, C_out, height, width] when given.
public func conv1x1FromTokens(_ t: Tensor, height: Int, width: Int, weight: Weight, bias: Tensor?,
                              residual: Tensor? = nil) -> Tensor {
    let (batch, cin, cout, plane) = pointwiseShapes(t.shape, weight, bias, channelAxis: 2)
    precondition(plane == height * width, "conv1x1FromTokens: \(plane) tokens are not \(height)×\(width)")
    if let residual {
        precondition(residual.shape == [batch, cout, height, width],
                     "conv1x1FromTokens: residual \(residual.shape) does not fit [\(batch), \(cout), \(height), \(width)]")
    }
    var y = Tensor(uninitialized: [batch, cout, height, width])
    FlopCounter.measure("conv1x1", multiplyAccumulates: batch * plane * cout * cin) {
        y.withUnsafeMutableBufferPointer { out in
            let c = out.baseAddress!
            let beta = prefillPlanes(c, planes: batch * cout, plane: plane, bias: bias, residual: residual)
            weight.withFloat32 { w in
                for b in 0..<batch {
                    // y_b [cout, plane] = W [cout, cin] · t_bᵀ [cin, plane]
                    BLAS.sgemm(transB: true, m: cout, n: plane, k: cin, a: w, lda: cin, b: t.data + b * plane * cin,
                               ldb: cin, beta: beta, c: c + b * cout * plane, ldc: plane)
                }
            }
        }
    }
    return y
}

/// (batch, C_in, C_out, H·W) of a pointwise convolution's operand, checked against the weight and bias.
private func pointwiseShapes(_ shape: [Int], _ weight: Weight, _ bias: Tensor?,
                             channelAxis: Int) -> (Int, Int, Int, Int) {
    precondition(weight.rank == 4 && weight.shape[2] == 1 && weight.shape[3] == 1,
                 "conv1x1: weight \(weight.shape) is not [C_out, C_in, 1, 1]")
    let (cout, cin) = (weight.shape[0], weight.shape[1])
    let ok = channelAxis == 1 ? shape.count == 4 && shape[1] == cin : shape.count == 3 && shape[2] == cin
    precondition(ok, "conv1x1: input \(shape) does not fit weight \(weight.shape)")
    if let bias { precondition(bias.shape == [cout], "conv1x1: bias \(bias.shape) does not fit weight \(weight.shape)") }
    let plane = channelAxis == 1 ? shape[2] * shape[3] : shape[1]
    return (shape[0], cin, cout, plane)
}
