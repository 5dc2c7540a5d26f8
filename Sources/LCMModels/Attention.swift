// Port of diffusers models/attention_processor.py (Attention with AttnProcessor2_0) and models/attention.py
// (FeedForward with GEGLU, BasicTransformerBlock) for the SD family.
import TensorCore

/// Multi-head attention: to_q/to_k/to_v projections, SDPA with heads split along channels, to_out.0.
public struct Attention: Sendable {
    let toQ: Linear
    let toK: Linear
    let toV: Linear
    let toOut: Linear
    let heads: Int

    /// `crossDim` nil: self-attention. `qkvBias`: true in the VAE, false in UNet transformers.
    public init(_ s: WeightScope, queryDim: Int, crossDim: Int? = nil, heads: Int, headDim: Int,
                qkvBias: Bool = false) {
        let inner = heads * headDim
        toQ = Linear(s["to_q"], in: queryDim, out: inner, bias: qkvBias)
        toK = Linear(s["to_k"], in: crossDim ?? queryDim, out: inner, bias: qkvBias)
        toV = Linear(s["to_v"], in: crossDim ?? queryDim, out: inner, bias: qkvBias)
        toOut = Linear(s["to_out"][0], in: inner, out: queryDim)
        self.heads = heads
    }

    /// x [B, N, C]; context [B, M, crossDim] or nil for self-attention → [B, N, C], plus `residual` [B, N, C]
    /// when given (added by to_out.0).
    public func callAsFunction(_ x: Tensor, context: Tensor? = nil, residual: Tensor? = nil) -> Tensor {
        let ctx = context ?? x
        let o = attention(query: toQ(x), key: toK(ctx), value: toV(ctx), heads: heads)  // [B, N, inner]
        return toOut(o, residual: residual)
    }
}

/// FeedForward with GEGLU: net.0.proj (C → 2·inner), a · gelu(g), net.2 (inner → C).
public struct FeedForward: Sendable {
    let proj: Linear
    let out: Linear

    public init(_ s: WeightScope, dim: Int, mult: Int = 4) {
        let inner = dim * mult
        proj = Linear(s["net"][0]["proj"], in: dim, out: 2 * inner)
        out = Linear(s["net"][2], in: inner, out: dim)
    }

    /// x [B, N, C] → [B, N, C], plus `residual` [B, N, C] when given (added by net.2).
    public func callAsFunction(_ x: Tensor, residual: Tensor? = nil) -> Tensor {
        out(geglu(proj(x)), residual: residual)
    }
}

/// Pre-LayerNorm block: self-attention, cross-attention, GEGLU feed-forward, each with a residual.
public struct BasicTransformerBlock: Sendable {
    let norm1: LayerNorm
    let attn1: Attention
    let norm2: LayerNorm
    let attn2: Attention
    let norm3: LayerNorm
    let ff: FeedForward

    public init(_ s: WeightScope, dim: Int, heads: Int, headDim: Int, crossDim: Int) {
        norm1 = LayerNorm(s["norm1"], dim: dim, eps: 1e-5)
        attn1 = Attention(s["attn1"], queryDim: dim, heads: heads, headDim: headDim)
        norm2 = LayerNorm(s["norm2"], dim: dim, eps: 1e-5)
        attn2 = Attention(s["attn2"], queryDim: dim, crossDim: crossDim, heads: heads, headDim: headDim)
        norm3 = LayerNorm(s["norm3"], dim: dim, eps: 1e-5)
        ff = FeedForward(s["ff"], dim: dim)
    }

    /// h [B, N, C], context [B, M, crossDim] → [B, N, C].
    public func callAsFunction(_ h: Tensor, context: Tensor) -> Tensor {
        var h = attn1(norm1(h), residual: h)  // the residual adds inside the output projections
        h = attn2(norm2(h), context: context, residual: h)
        return ff(norm3(h), residual: h)
    }
}
