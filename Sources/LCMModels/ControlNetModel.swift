// Port of diffusers models/controlnets/controlnet.py (ControlNetModel, ControlNetConditioningEmbedding) for SD1.x/
// SD2.x-style ControlNets: the UNet encoder (UNetEncoder, shared with UNet2DConditionModel) fed with
// conv_in(sample) + the embedded control image, whose skip tensors and mid-block output pass 1×1 convs and are
// scaled into the residuals UNet2DConditionModel takes (`controlResiduals:`). Guess mode is not ported.
import Foundation
import TensorCore

/// ControlNetModel config.json: the fields it shares with UNet2DConditionConfig (decoded into `encoder`) and its own.
public struct ControlNetConfig: Decodable, Sendable {
    /// The encoder half's fields, resolved with UNet2DConditionConfig's rules. up_block_types is empty, and the
    /// fields diffusers' ControlNetModel does not have keep their defaults even if a config.json carries them
    /// (ControlNetModel ignores them): time_cond_proj_dim is nil (its time embedding has no cond_proj, so the
    /// LCM guidance embedding goes to the UNet only), center_input_sample false.
    public var encoder: UNet2DConditionConfig
    public var conditioningChannels = 3
    public var channelOrder = "rgb"
    public var conditioningEmbeddingOutChannels = [16, 32, 96, 256]
    public var globalPoolConditions = false
    public var numClassEmbeds: Int? = nil

    enum CodingKeys: String, CodingKey {
        case conditioningChannels = "conditioning_channels", channelOrder = "controlnet_conditioning_channel_order"
        case conditioningEmbeddingOutChannels = "conditioning_embedding_out_channels"
        case globalPoolConditions = "global_pool_conditions", numClassEmbeds = "num_class_embeds"
        case crossAttentionDim = "cross_attention_dim"
    }

    public init(from decoder: Decoder) throws {
        var shared = try UNet2DConditionConfig(decoding: decoder, upBlocks: false)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if !c.contains(.crossAttentionDim) { shared.crossAttentionDim = .one(1280) }  // ControlNetModel's default
        shared.timeCondProjDim = nil
        shared.centerInputSample = false
        shared.timeEmbeddingType = "positional"
        (shared.convInKernel, shared.convOutKernel) = (3, 3)
        encoder = shared
        conditioningChannels = try c.decodeIfPresent(Int.self, forKey: .conditioningChannels) ?? conditioningChannels
        channelOrder = try c.decodeIfPresent(String.self, forKey: .channelOrder) ?? channelOrder
        conditioningEmbeddingOutChannels = try c.decodeIfPresent([Int].self, forKey: .conditioningEmbeddingOutChannels)
            ?? conditioningEmbeddingOutChannels
        globalPoolConditions = try c.decodeIfPresent(Bool.self, forKey: .globalPoolConditions) ?? globalPoolConditions
        numClassEmbeds = try c.decodeIfPresent(Int.self, forKey: .numClassEmbeds)
    }

    /// Per-block values and checks of what this engine supports; throws a ConfigError naming the field.
    public func resolved() throws -> UNet2DConditionConfig.Resolved {
        guard encoder.midBlockType != nil else { throw ConfigError("a ControlNet needs a mid block (mid_block_type)") }
        if let a = encoder.additionEmbedType {
            throw ConfigError("ControlNet addition_embed_type '\(a)' (SDXL) is not supported")
        }
        guard numClassEmbeds == nil else { throw ConfigError("num_class_embeds (class embeddings) is not supported") }
        guard !globalPoolConditions else { throw ConfigError("global_pool_conditions is not supported") }
        guard ["rgb", "bgr"].contains(channelOrder) else {
            throw ConfigError("unknown controlnet_conditioning_channel_order '\(channelOrder)'")
        }
        guard conditioningChannels > 0, !conditioningEmbeddingOutChannels.isEmpty,
              conditioningEmbeddingOutChannels.allSatisfy({ $0 > 0 }) else {
            throw ConfigError("conditioning_channels and conditioning_embedding_out_channels must be positive")
        }
        return try encoder.resolvedEncoder()
    }

    /// Control image size / latent size: 2^(number of stride-2 convs in the conditioning embedding). A pipeline
    /// needs it equal to its VAE's scale factor (8 for SD, 2 for the tiny test model).
    public var conditioningDownsamplingFactor: Int { 1 << (conditioningEmbeddingOutChannels.count - 1) }

    /// nil when this ControlNet's residuals fit the skip tensors and mid block of a UNet configured by `other`
    /// (same block_out_channels, layers per block, cross_attention_dim); otherwise a one-line reason.
    public func isCompatible(with other: UNet2DConditionConfig) -> String? {
        let mine: UNet2DConditionConfig.Resolved, theirs: UNet2DConditionConfig.Resolved
        do { mine = try resolved() } catch { return "ControlNet config: \(error)" }
        do { theirs = try other.resolvedEncoder() } catch { return "UNet config: \(error)" }
        guard encoder.blockOutChannels == other.blockOutChannels else {
            return "ControlNet block_out_channels \(encoder.blockOutChannels) differ from the UNet's "
                + "\(other.blockOutChannels)"
        }
        guard mine.layersPerBlock == theirs.layersPerBlock else {
            return "ControlNet layers_per_block \(mine.layersPerBlock) differ from the UNet's \(theirs.layersPerBlock)"
        }
        guard mine.crossAttentionDim == theirs.crossAttentionDim else {
            return "ControlNet cross_attention_dim \(mine.crossAttentionDim) differs from the UNet's "
                + "\(theirs.crossAttentionDim)"
        }
        guard other.midBlockType != nil else { return "the UNet has no mid block for the ControlNet's mid residual" }
        return nil
    }
}

/// A ControlNet's output for UNet2DConditionModel(controlResiduals:), already multiplied by the conditioning
/// scale: one residual per UNet skip tensor ([B, C_i, h_i, w_i], conv_in output first) and one for the mid block.
public struct ControlNetResiduals: Sendable {
    public var down: [Tensor]
    public var mid: Tensor
    public init(down: [Tensor], mid: Tensor) { (self.down, self.mid) = (down, mid) }
}

/// conv_in · SiLU, then per consecutive channel pair (c, c′): conv c→c · SiLU, conv c→c′ stride 2 · SiLU; conv_out.
struct ControlNetConditioningEmbedding: Sendable {
    let convIn: Conv2d
    let blocks: [Conv2d]
    let convOut: Conv2d

    init(_ s: WeightScope, conditioningChannels: Int, channels: [Int], outChannels: Int) {
        convIn = Conv2d(s["conv_in"], in: conditioningChannels, out: channels[0], kernel: 3)
        blocks = zip(channels, channels.dropFirst()).enumerated().flatMap { i, pair in
            [Conv2d(s["blocks"][2 * i], in: pair.0, out: pair.0, kernel: 3),
             Conv2d(s["blocks"][2 * i + 1], in: pair.0, out: pair.1, kernel: 3, stride: 2)]
        }
        convOut = Conv2d(s["conv_out"], in: channels[channels.count - 1], out: outChannels, kernel: 3)
    }

    /// [B, conditioning_channels, H, W] → [B, C0, H / 2^k, W / 2^k] (sizes rounded up at each stride-2 conv).
    func callAsFunction(_ image: Tensor) -> Tensor {
        var h = silu(convIn(image))
        for conv in blocks { h = silu(conv(h)) }
        return convOut(h)
    }
}

public struct ControlNetModel: Sendable {
    public let config: ControlNetConfig
    let encoder: UNetEncoder
    let conditioningEmbedding: ControlNetConditioningEmbedding
    let downProjections: [Conv2d]  // controlnet_down_blocks: one 1×1 conv per skip tensor
    let midProjection: Conv2d      // controlnet_mid_block

    /// Builds the network from `weights` (names as in diffusion_pytorch_model.safetensors).
    public init(config: ControlNetConfig, weights: WeightStore) throws {
        self.config = config
        let r = try config.resolved()
        let s = weights.root
        let ch = config.encoder.blockOutChannels
        encoder = try UNetEncoder(config: config.encoder, resolved: r, scope: s)
        conditioningEmbedding = ControlNetConditioningEmbedding(
            s["controlnet_cond_embedding"], conditioningChannels: config.conditioningChannels,
            channels: config.conditioningEmbeddingOutChannels, outChannels: ch[0])
        // The channels of the skip tensors, in the order UNetEncoder.down collects them.
        var skipChannels = [ch[0]]
        for (i, c) in ch.enumerated() {
            skipChannels += Array(repeating: c, count: r.layersPerBlock[i] + (i < ch.count - 1 ? 1 : 0))
        }
        downProjections = skipChannels.enumerated().map { i, c in
            Conv2d(s["controlnet_down_blocks"][i], in: c, out: c, kernel: 1)
        }
        midProjection = Conv2d(s["controlnet_mid_block"], in: ch[ch.count - 1], out: ch[ch.count - 1], kernel: 1)
    }

    /// See ControlNetConfig.isCompatible(with:).
    public func isCompatible(with unet: UNet2DConditionConfig) -> String? { config.isCompatible(with: unet) }

    /// Residuals for a UNet run on the same `sample` [B, in, h, w], `timestep` and `encoderHiddenStates`
    /// [B, M, cross_attention_dim]. There is no timestep_cond: diffusers' ControlNetModel has no cond_proj, and
    /// its pipelines give the LCM guidance embedding to the UNet only.
    /// - controlImage: [B or 1, conditioning_channels, H, W] in [0, 1] (RGB; flipped to BGR when the config says
    ///   so), where the conditioning embedding maps H×W to h×w: H = h · conditioningDownsamplingFactor.
    /// - observe: sees "time_embedding", "conv_in", "cond_embedding", "down_blocks.i", "mid_block".
    public func callAsFunction(
        _ sample: Tensor, timestep: Float, encoderHiddenStates: Tensor, controlImage: Tensor, conditioningScale: Float,
        observe: ((String, Tensor) -> Void)? = nil
    ) -> ControlNetResiduals {
        let batch = sample.shape[0]
        let factor = config.conditioningDownsamplingFactor
        precondition(controlImage.rank == 4 && [1, batch].contains(controlImage.shape[0])
                     && controlImage.shape[1] == config.conditioningChannels,
                     "ControlNet: control image \(controlImage.shape) is not [\(batch) or 1, "
                     + "\(config.conditioningChannels), H, W]")
        var image = controlImage
        if config.channelOrder == "bgr" {
            let planes = split(image, axis: 1, sizes: Array(repeating: 1, count: config.conditioningChannels))
            image = concat(planes.reversed(), axis: 1)
        }
        let emb = encoder.embedding(timestep: timestep, batch: batch, timestepCond: nil, added: nil,
                                    observe: observe)  // [B, 4·C0]
        var h = encoder.convIn(sample)  // [B, C0, h, w]
        observe?("conv_in", h)
        var condition = conditioningEmbedding(image)
        observe?("cond_embedding", condition)
        precondition(Array(condition.shape.dropFirst()) == Array(h.shape.dropFirst()),
                     "ControlNet: control image \(controlImage.shape) embeds to \(condition.shape), the sample "
                     + "\(sample.shape) needs [\(h.shape[1]), \(h.shape[2]), \(h.shape[3])] (control image = "
                     + "latent size × \(factor))")
        if condition.shape[0] != batch { condition = concat(Array(repeating: condition, count: batch), axis: 0) }
        h += condition
        let downPass = encoder.down(h, emb: emb, context: encoderHiddenStates, observe: observe)
        let mid = encoder.mid(downPass.last, emb: emb, context: encoderHiddenStates, observe: observe)
        return ControlNetResiduals(
            down: zip(downPass.skips, downProjections).map { skip, projection in projection(skip) * conditioningScale },
            mid: midProjection(mid) * conditioningScale)
    }
}
