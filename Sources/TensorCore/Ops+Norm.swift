// Normalisation layers: GroupNorm over NC… tensors (optionally fused with SiLU) and LayerNorm over the last axis.
import CKernels

/// GroupNorm(groups, C, eps) with affine gamma/beta [C]; x is [B, C, …spatial]. `silu` fuses a following SiLU.
public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, eps: Float,
                      silu fuseSilu: Bool = false) -> Tensor {
    precondition(x.rank >= 2 && x.shape[1] % groups == 0,
                 "groupNorm: \(x.shape[1]) channels of \(x.shape) do not split into \(groups) groups")
    let (batch, channels) = (x.shape[0], x.shape[1])
    if let weight { precondition(weight.shape == [channels], "groupNorm: weight \(weight.shape) does not fit \(x.shape)") }
    if let bias { precondition(bias.shape == [channels], "groupNorm: bias \(bias.shape) does not fit \(x.shape)") }
    let plane = x.count / max(batch * channels, 1)
    let perGroup = channels / groups
    var y = Tensor(uninitialized: x.shape)
    let src = x.data
    let gamma = weight?.data
    let beta = bias?.data
    FlopCounter.measure("groupnorm") {
        y.withUnsafeMutableBufferPointer { out in
            let dst = out.baseAddress!
            ThreadPolicy.parallelFor(batch * groups) { r in
                for i in r {
                    let c0 = (i % groups) * perGroup
                    let offset = (i / groups) * channels * plane + c0 * plane
                    lcm_groupnorm_group_f32(src + offset, dst + offset, gamma.map { $0 + c0 }, beta.map { $0 + c0 },
                                            perGroup, plane, eps, fuseSilu ? 1 : 0)
                }
            }
        }
    }
    return y
}

/// LayerNorm over the last axis with optional affine weight/bias of that size.
public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
    let cols = x.shape.last ?? 0
    if let weight { precondition(weight.shape == [cols], "layerNorm: weight \(weight.shape) does not fit \(x.shape)") }
    if let bias { precondition(bias.shape == [cols], "layerNorm: bias \(bias.shape) does not fit \(x.shape)") }
    let rows = x.count / max(cols, 1)
    var y = Tensor(uninitialized: x.shape)
    let src = x.data
    FlopCounter.measure("layernorm") {
        y.withUnsafeMutableBufferPointer { out in
            let dst = out.baseAddress!
            ThreadPolicy.parallelFor(rows, minChunk: 8) { r in
                lcm_layernorm_f32(src + r.lowerBound * cols, dst + r.lowerBound * cols, weight?.data, bias?.data,
                                  r.count, cols, eps)
            }
        }
    }
    return y
}
