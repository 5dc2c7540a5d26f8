// Port of diffusers models/transformers/transformer_2d.py (continuous input path) for the SD family:
// GroupNorm, proj_in (1×1 conv, or linear when use_linear_projection), BasicTransformerBlocks, proj_out, residual.
// The 1×1 projections read and write the token layout directly (Ops+Pointwise.swift), the residual added in
// proj_out's GEMM.
import TensorCore

public struct Transformer2DModel: Sendable {
    let norm: GroupNorm
    let projIn: Projection
    let blocks: [BasicTransformerBlock]
    let projOut: Projection

    /// proj_in/proj_out are 1×1 convolutions (SD1.x) or linear layers (SD2.x, SDXL).
    enum Projection: Sendable {
        case conv(Conv2d)
        case linear(Linear)

        init(_ s: WeightScope, channels: Int, useLinear: Bool) {
            self = useLinear ? .linear(Linear(s, in: channels, out: channels))
                : .conv(Conv2d(s, in: channels, out: channels, kernel: 1))
        }
    }

    public init(_ s: WeightScope, channels: Int, heads: Int, headDim: Int, layers: Int, crossDim: Int,
                groups: Int, useLinearProjection: Bool) {
        norm = GroupNorm(s["norm"], groups: groups, channels: channels, eps: 1e-6)
        projIn = Projection(s["proj_in"], channels: channels, useLinear: useLinearProjection)
        blocks = (0..<layers).map {
            BasicTransformerBlock(s["transformer_blocks"][$0], dim: channels, heads: heads, headDim: headDim,
                                  crossDim: crossDim)
        }
        projOut = Projection(s["proj_out"], channels: channels, useLinear: useLinearProjection)
    }

    /// x [B, C, H, W], context [B, M, crossDim] → [B, C, H, W].
    public func callAsFunction(_ x: Tensor, context: Tensor) -> Tensor {
        let (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var t = norm(x)
        switch projIn {
        case .conv(let conv): t = conv1x1ToTokens(t, weight: conv.weight, bias: conv.bias)
        case .linear(let lin): t = lin(toTokens(t))
        }  // [B, H·W, C]
        for block in blocks { t = block(t, context: context) }
        switch projOut {
        case .conv(let conv):
            return conv1x1FromTokens(t, height: h, width: w, weight: conv.weight, bias: conv.bias, residual: x)
        case .linear(let lin):
            var out = fromTokens(lin(t), height: h, width: w)  // [B, C, H, W]
            precondition(out.shape == [b, c, h, w])
            out += x
            return out
        }
    }
}

/// [B, C, H, W] → [B, H·W, C] (token index y·W + x).
func toTokens(_ x: Tensor) -> Tensor {
    let (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    return permute(x.reshaped([b, c, h * w]), [0, 2, 1])
}

/// [B, H·W, C] → [B, C, H, W].
func fromTokens(_ t: Tensor, height: Int, width: Int) -> Tensor {
    let (b, c) = (t.shape[0], t.shape[2])
    return permute(t, [0, 2, 1]).reshaped([b, c, height, width])
}
