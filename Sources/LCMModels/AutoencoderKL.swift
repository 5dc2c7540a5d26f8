// Port of diffusers models/autoencoders/autoencoder_kl.py and vae.py (Encoder, Decoder, UNetMidBlock2D with its
// single-head attention, DiagonalGaussianDistribution parameters) for the SD-family VAE.
import Foundation
import TensorCore

public struct AutoencoderKLConfig: Decodable, Sendable {
    public var inChannels = 3
    public var outChannels = 3
    public var latentChannels = 4
    public var blockOutChannels: [Int] = [64]
    public var layersPerBlock = 1
    public var normNumGroups = 32
    public var actFn = "silu"
    public var scalingFactor: Float = 0.18215
    public var shiftFactor: Float? = nil
    public var useQuantConv = true
    public var usePostQuantConv = true
    public var midBlockAddAttention = true
    public var sampleSize: Int? = nil

    enum CodingKeys: String, CodingKey {
        case inChannels = "in_channels", outChannels = "out_channels", latentChannels = "latent_channels"
        case blockOutChannels = "block_out_channels", layersPerBlock = "layers_per_block"
        case normNumGroups = "norm_num_groups", actFn = "act_fn", scalingFactor = "scaling_factor"
        case shiftFactor = "shift_factor", useQuantConv = "use_quant_conv", usePostQuantConv = "use_post_quant_conv"
        case midBlockAddAttention = "mid_block_add_attention", sampleSize = "sample_size"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        inChannels = try c.value(.inChannels, inChannels)
        outChannels = try c.value(.outChannels, outChannels)
        latentChannels = try c.value(.latentChannels, latentChannels)
        blockOutChannels = try c.value(.blockOutChannels, blockOutChannels)
        layersPerBlock = try c.value(.layersPerBlock, layersPerBlock)
        normNumGroups = try c.value(.normNumGroups, normNumGroups)
        actFn = try c.value(.actFn, actFn)
        scalingFactor = try c.value(.scalingFactor, scalingFactor)
        shiftFactor = try c.decodeIfPresent(Float.self, forKey: .shiftFactor)
        useQuantConv = try c.value(.useQuantConv, useQuantConv)
        usePostQuantConv = try c.value(.usePostQuantConv, usePostQuantConv)
        midBlockAddAttention = try c.value(.midBlockAddAttention, midBlockAddAttention)
        sampleSize = try c.decodeIfPresent(Int.self, forKey: .sampleSize)
        guard !blockOutChannels.isEmpty, blockOutChannels.allSatisfy({ $0 % normNumGroups == 0 }) else {
            throw ConfigError("block_out_channels \(blockOutChannels) must be multiples of norm_num_groups \(normNumGroups)")
        }
        guard actFn == "silu" else { throw ConfigError("unsupported act_fn '\(actFn)'") }
    }

    /// Pixels per latent cell: 2^(levels − 1).
    public var scaleFactor: Int { 1 << (blockOutChannels.count - 1) }
}

/// The VAE mid-block attention: GroupNorm, single head over all positions, residual.
struct VAEAttention: Sendable {
    let groupNorm: GroupNorm
    let attention: Attention

    init(_ s: WeightScope, channels: Int, groups: Int) {
        groupNorm = GroupNorm(s["group_norm"], groups: groups, channels: channels, eps: 1e-6)
        attention = Attention(s, queryDim: channels, heads: 1, headDim: channels, qkvBias: true)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let (h, w) = (x.shape[2], x.shape[3])
        var out = fromTokens(attention(toTokens(groupNorm(x))), height: h, width: w)  // [B, C, H, W]
        out += x
        return out
    }
}

struct VAEMidBlock: Sendable {
    let resnets: [ResnetBlock2D]
    let attention: VAEAttention?

    init(_ s: WeightScope, channels: Int, groups: Int, addAttention: Bool) {
        resnets = (0..<2).map {
            ResnetBlock2D(s["resnets"][$0], in: channels, out: channels, tembChannels: nil, groups: groups, eps: 1e-6)
        }
        attention = addAttention ? VAEAttention(s["attentions"][0], channels: channels, groups: groups) : nil
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = resnets[0](x)
        if let attention { h = attention(h) }
        return resnets[1](h)
    }
}

struct VAEEncoder: Sendable {
    let convIn: Conv2d
    let downBlocks: [(resnets: [ResnetBlock2D], downsampler: Downsample2D?)]
    let midBlock: VAEMidBlock
    let convNormOut: GroupNorm
    let convOut: Conv2d

    init(_ s: WeightScope, config c: AutoencoderKLConfig) {
        let ch = c.blockOutChannels
        let g = c.normNumGroups
        convIn = Conv2d(s["conv_in"], in: c.inChannels, out: ch[0], kernel: 3)
        var blocks: [(resnets: [ResnetBlock2D], downsampler: Downsample2D?)] = []
        var outC = ch[0]
        for i in 0..<ch.count {
            let inC = outC
            outC = ch[i]
            let bs = s["down_blocks"][i]
            blocks.append((
                resnets: (0..<c.layersPerBlock).map {
                    ResnetBlock2D(bs["resnets"][$0], in: $0 == 0 ? inC : outC, out: outC, tembChannels: nil,
                                  groups: g, eps: 1e-6)
                },
                downsampler: i < ch.count - 1 ? Downsample2D(bs["downsamplers"][0], channels: outC, padding: 0) : nil))
        }
        downBlocks = blocks
        midBlock = VAEMidBlock(s["mid_block"], channels: outC, groups: g, addAttention: c.midBlockAddAttention)
        convNormOut = GroupNorm(s["conv_norm_out"], groups: g, channels: outC, eps: 1e-6)
        convOut = Conv2d(s["conv_out"], in: outC, out: 2 * c.latentChannels, kernel: 3)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = convIn(x)
        for block in downBlocks {
            for resnet in block.resnets { h = resnet(h) }
            if let d = block.downsampler { h = d(h) }
        }
        h = midBlock(h)
        return convOut(convNormOut(h, silu: true))  // [B, 2·latent, h, w]
    }
}

struct VAEDecoder: Sendable {
    let convIn: Conv2d
    let midBlock: VAEMidBlock
    let upBlocks: [(resnets: [ResnetBlock2D], upsampler: Upsample2D?)]
    let convNormOut: GroupNorm
    let convOut: Conv2d

    init(_ s: WeightScope, config c: AutoencoderKLConfig) {
        let rch = Array(c.blockOutChannels.reversed())
        let g = c.normNumGroups
        convIn = Conv2d(s["conv_in"], in: c.latentChannels, out: rch[0], kernel: 3)
        midBlock = VAEMidBlock(s["mid_block"], channels: rch[0], groups: g, addAttention: c.midBlockAddAttention)
        var blocks: [(resnets: [ResnetBlock2D], upsampler: Upsample2D?)] = []
        var outC = rch[0]
        for i in 0..<rch.count {
            let inC = outC
            outC = rch[i]
            let bs = s["up_blocks"][i]
            blocks.append((
                resnets: (0..<(c.layersPerBlock + 1)).map {
                    ResnetBlock2D(bs["resnets"][$0], in: $0 == 0 ? inC : outC, out: outC, tembChannels: nil,
                                  groups: g, eps: 1e-6)
                },
                upsampler: i < rch.count - 1 ? Upsample2D(bs["upsamplers"][0], channels: outC) : nil))
        }
        upBlocks = blocks
        convNormOut = GroupNorm(s["conv_norm_out"], groups: g, channels: outC, eps: 1e-6)
        convOut = Conv2d(s["conv_out"], in: outC, out: c.outChannels, kernel: 3)
    }

    func callAsFunction(_ z: Tensor, observe: ((String, Tensor) -> Void)?) -> Tensor {
        var h = midBlock(convIn(z))
        observe?("decoder.mid_block", h)
        for (i, block) in upBlocks.enumerated() {
            for resnet in block.resnets { h = resnet(h) }
            if let u = block.upsampler { h = u(h) }
            observe?("decoder.up_blocks.\(i)", h)
        }
        return convOut(convNormOut(h, silu: true))  // [B, out, H, W]
    }
}

public struct AutoencoderKL: Sendable {
    public let config: AutoencoderKLConfig
    let encoder: VAEEncoder?
    /// False when loaded for decoding only.
    public var hasEncoder: Bool { encoder != nil }
    let decoder: VAEDecoder
    let quantConv: Conv2d?
    let postQuantConv: Conv2d?

    /// `withEncoder: false` skips the encoder weights (text-to-image needs only the decoder).
    public init(config: AutoencoderKLConfig, weights: WeightStore, withEncoder: Bool = true) throws {
        self.config = config
        let s = weights.root
        let latent = config.latentChannels
        decoder = VAEDecoder(s["decoder"], config: config)
        postQuantConv = config.usePostQuantConv
            ? Conv2d(s["post_quant_conv"], in: latent, out: latent, kernel: 1) : nil
        encoder = withEncoder ? VAEEncoder(s["encoder"], config: config) : nil
        quantConv = withEncoder && config.useQuantConv
            ? Conv2d(s["quant_conv"], in: 2 * latent, out: 2 * latent, kernel: 1) : nil
    }

    /// Image [B, out, h·f, w·f] from latents z [B, latent, h, w] (already divided by the scaling factor).
    public func decode(_ z: Tensor, observe: ((String, Tensor) -> Void)? = nil) -> Tensor {
        decoder(postQuantConv.map { $0(z) } ?? z, observe: observe)
    }

    /// Posterior (mean, logvar) [B, latent, h, w] each, logvar clamped to [−30, 20], for images in [−1, 1].
    public func encode(_ image: Tensor) -> (mean: Tensor, logvar: Tensor) {
        guard let encoder else { preconditionFailure("AutoencoderKL.encode: loaded without the encoder") }
        var moments = encoder(image)
        if let quantConv { moments = quantConv(moments) }
        let parts = split(moments, axis: 1, sizes: [config.latentChannels, config.latentChannels])
        var logvar = parts[1]
        logvar.withUnsafeMutableBufferPointer { buf in
            for i in buf.indices { buf[i] = min(max(buf[i], -30), 20) }
        }
        return (parts[0], logvar)
    }
}
