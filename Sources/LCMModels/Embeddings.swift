// Port of diffusers models/embeddings.py: get_timestep_embedding (Timesteps) and TimestepEmbedding
// (with the LCM guidance projection `cond_proj`).
import Foundation
import TensorCore

/// Sinusoidal embedding [B, dim] of `timesteps`, computed in float32 like diffusers:
/// f_i = exp(−ln(10000)·i / (half − shift)); [sin(t·f), cos(t·f)], flipped to [cos, sin] when flipSinToCos.
public func timestepEmbedding(_ timesteps: [Float], dim: Int, flipSinToCos: Bool, shift: Float) -> Tensor {
    let half = dim / 2
    let logPeriod = Float(-log(10000.0))
    let freqs = (0..<half).map { i in expf(logPeriod * Float(i) / (Float(half) - shift)) }
    return Tensor(shape: [timesteps.count, dim]) { buf in
        for (b, t) in timesteps.enumerated() {
            let row = buf.baseAddress! + b * dim
            for i in 0..<half {
                let a = t * freqs[i]
                let (s, c) = (sinf(a), cosf(a))
                row[i] = flipSinToCos ? c : s
                row[half + i] = flipSinToCos ? s : c
            }
            if dim % 2 == 1 { row[dim - 1] = 0 }
        }
    }
}

/// linear_2(SiLU(linear_1(x + cond_proj(condition)))): the UNet time embedding MLP.
public struct TimestepEmbedding: Sendable {
    let linear1: Linear
    let linear2: Linear
    let condProj: Linear?

    public init(_ s: WeightScope, inChannels: Int, timeEmbedDim: Int, condProjDim: Int? = nil) {
        linear1 = Linear(s["linear_1"], in: inChannels, out: timeEmbedDim)
        linear2 = Linear(s["linear_2"], in: timeEmbedDim, out: timeEmbedDim)
        condProj = condProjDim.map { Linear(s["cond_proj"], in: $0, out: inChannels, bias: false) }
    }

    /// x [B, in], condition [B, condProjDim] → [B, timeEmbedDim].
    public func callAsFunction(_ x: Tensor, condition: Tensor? = nil) -> Tensor {
        var h = x
        if let condProj, let condition { h += condProj(condition) }
        return linear2(silu(linear1(h)))
    }
}
