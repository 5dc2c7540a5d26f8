// Port of diffusers models/unets/unet_2d_blocks.py: CrossAttnDownBlock2D / DownBlock2D, UNetMidBlock2DCrossAttn,
// CrossAttnUpBlock2D / UpBlock2D. One struct per role; attention layers are present or not per block type.
import TensorCore

struct UNetDownBlock: Sendable {
    let resnets: [ResnetBlock2D]
    let attentions: [Transformer2DModel]
    let downsampler: Downsample2D?

    /// Runs the block, appending every output that the up path will consume to `skips`.
    func callAsFunction(_ x: Tensor, emb: Tensor, context: Tensor, skips: inout [Tensor]) -> Tensor {
        var h = x
        for (j, resnet) in resnets.enumerated() {
            h = resnet(h, temb: emb)
            if !attentions.isEmpty { h = attentions[j](h, context: context) }
            skips.append(h)
        }
        if let downsampler {
            h = downsampler(h)  // [B, C, ceil(H/2), ceil(W/2)]
            skips.append(h)
        }
        return h
    }
}

struct UNetMidBlock: Sendable {
    let resnets: [ResnetBlock2D]
    let attentions: [Transformer2DModel]

    func callAsFunction(_ x: Tensor, emb: Tensor, context: Tensor) -> Tensor {
        var h = resnets[0](x, temb: emb)
        for (i, attention) in attentions.enumerated() {
            h = attention(h, context: context)
            h = resnets[i + 1](h, temb: emb)
        }
        return h
    }
}

struct UNetUpBlock: Sendable {
    let resnets: [ResnetBlock2D]
    let attentions: [Transformer2DModel]
    let upsampler: Upsample2D?

    /// Pops one skip per resnet (last pushed first); upsamples to `upsampleSize` when given.
    func callAsFunction(_ x: Tensor, emb: Tensor, context: Tensor, skips: inout [Tensor],
                        upsampleSize: (Int, Int)?) -> Tensor {
        var h = x
        for (j, resnet) in resnets.enumerated() {
            let skip = skips.removeLast()
            h = resnet(concat([h, skip], axis: 1), temb: emb)  // [B, C_h + C_skip, H, W] → [B, C_out, H, W]
            if !attentions.isEmpty { h = attentions[j](h, context: context) }
        }
        if let upsampler { h = upsampler(h, outputSize: upsampleSize) }
        return h
    }
}
