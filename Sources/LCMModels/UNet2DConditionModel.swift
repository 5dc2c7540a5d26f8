// Port of diffusers models/unets/unet_2d_condition.py (UNet2DConditionModel.forward) for SD1.x, SD2.x and SDXL
// configs, with the LCM guidance embedding (time_cond_proj_dim), SDXL's "text_time" added conditioning and ControlNet
// residuals (down_block_additional_residuals, mid_block_additional_residual).
import Foundation
import TensorCore

public struct UNet2DConditionModel: Sendable {
    public let config: UNet2DConditionConfig
    let encoder: UNetEncoder
    let upBlocks: [UNetUpBlock]
    let convNormOut: GroupNorm
    let convOut: Conv2d

    /// SDXL conditioning: pooled text embeddings [B, P] and time ids [B, 6].
    public struct AddedConditions: Sendable {
        public var textEmbeds: Tensor
        public var timeIds: Tensor
        public init(textEmbeds: Tensor, timeIds: Tensor) { (self.textEmbeds, self.timeIds) = (textEmbeds, timeIds) }
    }

    /// Builds the network from `weights` (names as in diffusion_pytorch_model.safetensors).
    public init(config: UNet2DConditionConfig, weights: WeightStore) throws {
        self.config = config
        let r = try config.resolved()
        let s = weights.root
        let ch = config.blockOutChannels
        let n = ch.count
        let tembDim = ch[0] * 4
        encoder = try UNetEncoder(config: config, resolved: r, scope: s)

        var up: [UNetUpBlock] = []
        let rch = Array(ch.reversed())
        let rheads = Array(r.heads.reversed())
        let rlayers = Array(r.layersPerBlock.reversed())
        let rtransformer = Array(r.transformerLayers.reversed())
        var prevOut = rch[0]
        for i in 0..<n {
            let outC = rch[i]
            let inC = rch[min(i + 1, n - 1)]
            let bs = s["up_blocks"][i]
            let hasAttention = config.upBlockTypes[i] == "CrossAttnUpBlock2D"
            let layers = rlayers[i] + 1
            up.append(UNetUpBlock(
                resnets: (0..<layers).map { j in
                    let skipC = j == layers - 1 ? inC : outC
                    let resIn = j == 0 ? prevOut : outC
                    return ResnetBlock2D(bs["resnets"][j], in: resIn + skipC, out: outC, tembChannels: tembDim,
                                         groups: config.normNumGroups, eps: config.normEps)
                },
                attentions: hasAttention ? (0..<layers).map {
                    crossAttentionTransformer(bs["attentions"][$0], config, r, channels: outC, heads: rheads[i],
                                              layers: rtransformer[i])
                } : [],
                upsampler: i < n - 1 ? Upsample2D(bs["upsamplers"][0], channels: outC) : nil))
            prevOut = outC
        }
        upBlocks = up

        convNormOut = GroupNorm(s["conv_norm_out"], groups: config.normNumGroups, channels: ch[0], eps: config.normEps)
        convOut = Conv2d(s["conv_out"], in: ch[0], out: config.outChannels, kernel: 3)
    }

    /// Noise (or v / x0) prediction [B, out, h, w] for sample [B, in, h, w] at `timestep`.
    /// - encoderHiddenStates: [B, M, cross_attention_dim]; timestepCond: [B, time_cond_proj_dim] (LCM w-embedding).
    /// - controlResiduals: a ControlNet's output, added as diffusers' down_block_additional_residuals (to the skip
    ///   tensors after the down path) and mid_block_additional_residual (to the mid-block output). The ControlNet
    ///   must fit this UNet (`ControlNetModel.isCompatible(with:)`).
    /// - observe: sees named intermediate results ("time_embedding", "add_embedding", "conv_in", "down_blocks.i",
    ///   "mid_block" (before any residual), "up_blocks.i") for parity checks.
    public func callAsFunction(
        _ sample: Tensor, timestep: Float, encoderHiddenStates: Tensor, timestepCond: Tensor? = nil,
        added: AddedConditions? = nil, controlResiduals: ControlNetResiduals? = nil,
        observe: ((String, Tensor) -> Void)? = nil
    ) -> Tensor {
        let emb = encoder.embedding(timestep: timestep, batch: sample.shape[0], timestepCond: timestepCond,
                                    added: added, observe: observe)  // [B, 4·C0]
        var h = config.centerInputSample ? sample * 2 + Tensor(shape: sample.shape, repeating: -1) : sample
        h = encoder.convIn(h)  // [B, C0, h, w]
        observe?("conv_in", h)
        let downPass = encoder.down(h, emb: emb, context: encoderHiddenStates, observe: observe)
        h = downPass.last
        var skips = downPass.skips
        if let residuals = controlResiduals {
            precondition(residuals.down.count == skips.count,
                         "controlResiduals: \(residuals.down.count) down residuals for \(skips.count) skip tensors")
            for i in skips.indices {
                precondition(residuals.down[i].shape == skips[i].shape,
                             "controlResiduals: down[\(i)] is \(residuals.down[i].shape), the skip \(skips[i].shape)")
                skips[i] += residuals.down[i]
            }
        }
        h = encoder.mid(h, emb: emb, context: encoderHiddenStates, observe: observe)
        if let residuals = controlResiduals {
            precondition(residuals.mid.shape == h.shape,
                         "controlResiduals: mid is \(residuals.mid.shape), the mid block output \(h.shape)")
            h += residuals.mid
        }
        for (i, block) in upBlocks.enumerated() {
            // The upsampler targets the size of the next skip to be consumed (equal to 2× when sizes divide evenly).
            let remaining = skips.count - block.resnets.count
            let size = block.upsampler != nil && remaining > 0
                ? (skips[remaining - 1].shape[2], skips[remaining - 1].shape[3]) : nil
            h = block(h, emb: emb, context: encoderHiddenStates, skips: &skips, upsampleSize: size)
            observe?("up_blocks.\(i)", h)
        }
        return convOut(convNormOut(h, silu: true))  // [B, out, h, w]
    }
}

/// conv_in, the time embedding (with the LCM cond_proj and SDXL's added embedding when configured), the down blocks
/// and the mid block: the part of the UNet that diffusers' ControlNetModel copies, built and run the same way for
/// both (weight names relative to `scope`).
struct UNetEncoder: Sendable {
    let config: UNet2DConditionConfig
    let convIn: Conv2d
    let timeEmbedding: TimestepEmbedding
    let addEmbedding: TimestepEmbedding?
    let downBlocks: [UNetDownBlock]
    let midBlock: UNetMidBlock?

    init(config: UNet2DConditionConfig, resolved r: UNet2DConditionConfig.Resolved, scope s: WeightScope) throws {
        self.config = config
        let ch = config.blockOutChannels
        let n = ch.count
        let groups = config.normNumGroups
        let eps = config.normEps
        let tembDim = ch[0] * 4

        convIn = Conv2d(s["conv_in"], in: config.inChannels, out: ch[0], kernel: 3)
        timeEmbedding = TimestepEmbedding(s["time_embedding"], inChannels: ch[0], timeEmbedDim: tembDim,
                                          condProjDim: config.timeCondProjDim)
        if config.additionEmbedType == "text_time" {
            guard let inDim = config.projectionClassEmbeddingsInputDim, config.additionTimeEmbedDim != nil else {
                throw ConfigError("text_time conditioning needs projection_class_embeddings_input_dim and addition_time_embed_dim")
            }
            addEmbedding = TimestepEmbedding(s["add_embedding"], inChannels: inDim, timeEmbedDim: tembDim)
        } else {
            addEmbedding = nil
        }

        var down: [UNetDownBlock] = []
        var outC = ch[0]
        for i in 0..<n {
            let inC = outC
            outC = ch[i]
            let bs = s["down_blocks"][i]
            let hasAttention = config.downBlockTypes[i] == "CrossAttnDownBlock2D"
            let layers = r.layersPerBlock[i]
            down.append(UNetDownBlock(
                resnets: (0..<layers).map {
                    ResnetBlock2D(bs["resnets"][$0], in: $0 == 0 ? inC : outC, out: outC, tembChannels: tembDim,
                                  groups: groups, eps: eps)
                },
                attentions: hasAttention ? (0..<layers).map {
                    crossAttentionTransformer(bs["attentions"][$0], config, r, channels: outC, heads: r.heads[i],
                                              layers: r.transformerLayers[i])
                } : [],
                downsampler: i < n - 1
                    ? Downsample2D(bs["downsamplers"][0], channels: outC, padding: config.downsamplePadding) : nil))
        }
        downBlocks = down

        if config.midBlockType != nil {
            let ms = s["mid_block"]
            let c = ch[n - 1]
            midBlock = UNetMidBlock(
                resnets: (0..<2).map {
                    ResnetBlock2D(ms["resnets"][$0], in: c, out: c, tembChannels: tembDim, groups: groups, eps: eps,
                                  outputScaleFactor: config.midBlockScaleFactor)
                },
                attentions: [crossAttentionTransformer(ms["attentions"][0], config, r, channels: c,
                                                       heads: r.heads[n - 1], layers: r.transformerLayers[n - 1])])
        } else {
            midBlock = nil
        }
    }

    /// The embedding [B, 4·C0] every resnet gets: time embedding of `timestep` (+ cond_proj(timestepCond)), plus
    /// the SDXL added embedding when the model has one and `added` is given.
    func embedding(timestep: Float, batch: Int, timestepCond: Tensor?,
                   added: UNet2DConditionModel.AddedConditions?, observe: ((String, Tensor) -> Void)?) -> Tensor {
        let tEmb = timestepEmbedding(Array(repeating: timestep, count: batch), dim: config.blockOutChannels[0],
                                     flipSinToCos: config.flipSinToCos, shift: Float(config.freqShift))
        var emb = timeEmbedding(tEmb, condition: timestepCond)  // [B, 4·C0]
        observe?("time_embedding", emb)
        if let addEmbedding, let added, let addDim = config.additionTimeEmbedDim {
            let ids = added.timeIds.scalars
            let timeEmbeds = timestepEmbedding(ids, dim: addDim, flipSinToCos: config.flipSinToCos,
                                               shift: Float(config.freqShift)).reshaped([batch, -1])
            let addEmb = addEmbedding(concat([added.textEmbeds, timeEmbeds], axis: 1))  // [B, 4·C0]
            observe?("add_embedding", addEmb)
            emb += addEmb
        }
        return emb
    }

    /// The down blocks from `x` (the conv_in output, [B, C0, h, w]); returns their last output and the skip
    /// tensors the up path consumes, `x` first (diffusers' down_block_res_samples).
    func down(_ x: Tensor, emb: Tensor, context: Tensor,
              observe: ((String, Tensor) -> Void)?) -> (last: Tensor, skips: [Tensor]) {
        var h = x
        var skips = [x]
        for (i, block) in downBlocks.enumerated() {
            h = block(h, emb: emb, context: context, skips: &skips)
            observe?("down_blocks.\(i)", h)
        }
        return (h, skips)
    }

    /// The mid block (the identity for configs without one).
    func mid(_ x: Tensor, emb: Tensor, context: Tensor, observe: ((String, Tensor) -> Void)?) -> Tensor {
        guard let midBlock else { return x }
        let h = midBlock(x, emb: emb, context: context)
        observe?("mid_block", h)
        return h
    }
}

/// A block's Transformer2DModel with the config's cross-attention settings.
private func crossAttentionTransformer(_ scope: WeightScope, _ config: UNet2DConditionConfig,
                                       _ r: UNet2DConditionConfig.Resolved, channels: Int, heads: Int,
                                       layers: Int) -> Transformer2DModel {
    Transformer2DModel(scope, channels: channels, heads: heads, headDim: channels / heads, layers: layers,
                       crossDim: r.crossAttentionDim, groups: config.normNumGroups,
                       useLinearProjection: config.useLinearProjection)
}
