// Port of diffusers pipelines/latent_consistency_models/pipeline_latent_consistency_text2img.py
// (LatentConsistencyModelPipeline.get_guidance_scale_embedding, from VDM).
import Foundation
import TensorCore

/// The sinusoidal embedding of guidance scales, shape [w.count, dim]: for each w, with half = dim/2,
/// a_i = (1000·w)·exp(−i·ln(10000)/(half − 1)) and the row is [sin(a_0..<half), cos(a_0..<half)], plus one zero
/// column when dim is odd. Pass w = guidance_scale − 1 (diffusers' convention).
///
/// Float32 like torch, except that exp, sin and cos are correctly rounded here while torch's CPU kernels
/// (MKL VML) miss the correct rounding for 3 of the 128 frequencies of dim 256 by one ulp; scaled by 1000·w, that
/// moves those entries by up to about 6·10⁻⁵ for w ≤ 12.
public func guidanceScaleEmbedding(_ w: [Float], dim: Int) -> Tensor {
    precondition(dim >= 4, "guidanceScaleEmbedding: dim \(dim) must be at least 4")
    let half = dim / 2
    let c = Float(Foundation.log(Double(10000))) / Float(half - 1)
    let frequencies = (0..<half).map { Float(Foundation.exp(Double(Float($0) * -c))) }
    return Tensor(shape: [w.count, dim]) { out in
        for (row, scale) in w.enumerated() {
            let scaled = scale * 1000
            let base = row * dim
            for i in 0..<half {
                let a = Double(scaled * frequencies[i])
                out[base + i] = Float(Foundation.sin(a))
                out[base + half + i] = Float(Foundation.cos(a))
            }
            if dim % 2 == 1 { out[base + dim - 1] = 0 }
        }
    }
}
