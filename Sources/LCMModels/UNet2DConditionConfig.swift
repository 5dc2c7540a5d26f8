// The UNet2DConditionModel config.json fields (diffusers models/unets/unet_2d_condition.py), one struct for the
// SD1.x, SD2.x and SDXL families, resolved into per-block values.
import Foundation
import TensorCore

public struct UNet2DConditionConfig: Decodable, Sendable {
    public var inChannels = 4
    public var outChannels = 4
    public var sampleSize: Int? = nil
    public var centerInputSample = false
    public var flipSinToCos = true
    public var freqShift = 0
    public var downBlockTypes: [String]
    public var midBlockType: String? = "UNetMidBlock2DCrossAttn"
    public var upBlockTypes: [String]
    public var blockOutChannels: [Int]
    public var layersPerBlock: IntOrList = .one(2)
    public var downsamplePadding = 1
    public var midBlockScaleFactor: Float = 1
    public var actFn = "silu"
    public var normNumGroups = 32
    public var normEps: Float = 1e-5
    public var crossAttentionDim: IntOrList = .one(768)
    public var transformerLayersPerBlock: IntOrList = .one(1)
    public var attentionHeadDim: IntOrList = .one(8)
    public var numAttentionHeads: IntOrList? = nil
    public var useLinearProjection = false
    public var onlyCrossAttention = false
    public var resnetTimeScaleShift = "default"
    public var timeEmbeddingType = "positional"
    public var timeCondProjDim: Int? = nil
    public var classEmbedType: String? = nil
    public var additionEmbedType: String? = nil
    public var additionTimeEmbedDim: Int? = nil
    public var projectionClassEmbeddingsInputDim: Int? = nil
    public var encoderHidDim: Int? = nil
    public var convInKernel = 3
    public var convOutKernel = 3

    enum CodingKeys: String, CodingKey {
        case inChannels = "in_channels", outChannels = "out_channels", sampleSize = "sample_size"
        case centerInputSample = "center_input_sample", flipSinToCos = "flip_sin_to_cos", freqShift = "freq_shift"
        case downBlockTypes = "down_block_types", midBlockType = "mid_block_type", upBlockTypes = "up_block_types"
        case blockOutChannels = "block_out_channels", layersPerBlock = "layers_per_block"
        case downsamplePadding = "downsample_padding", midBlockScaleFactor = "mid_block_scale_factor"
        case actFn = "act_fn", normNumGroups = "norm_num_groups", normEps = "norm_eps"
        case crossAttentionDim = "cross_attention_dim", transformerLayersPerBlock = "transformer_layers_per_block"
        case attentionHeadDim = "attention_head_dim", numAttentionHeads = "num_attention_heads"
        case useLinearProjection = "use_linear_projection", onlyCrossAttention = "only_cross_attention"
        case resnetTimeScaleShift = "resnet_time_scale_shift", timeEmbeddingType = "time_embedding_type"
        case timeCondProjDim = "time_cond_proj_dim", classEmbedType = "class_embed_type"
        case additionEmbedType = "addition_embed_type", additionTimeEmbedDim = "addition_time_embed_dim"
        case projectionClassEmbeddingsInputDim = "projection_class_embeddings_input_dim"
        case encoderHidDim = "encoder_hid_dim", convInKernel = "conv_in_kernel", convOutKernel = "conv_out_kernel"
    }

    public init(from decoder: Decoder) throws { try self.init(decoding: decoder, upBlocks: true) }

    /// The fields of `decoder`; with `upBlocks` false (the config of a model holding only the encoder half, as
    /// ControlNetModel's does) up_block_types is not read and stays empty.
    init(decoding decoder: Decoder, upBlocks: Bool) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        downBlockTypes = try c.decode([String].self, forKey: .downBlockTypes)
        upBlockTypes = upBlocks ? try c.decode([String].self, forKey: .upBlockTypes) : []
        blockOutChannels = try c.decode([Int].self, forKey: .blockOutChannels)
        inChannels = try c.value(.inChannels, inChannels)
        outChannels = try c.value(.outChannels, outChannels)
        sampleSize = try c.decodeIfPresent(Int.self, forKey: .sampleSize)
        centerInputSample = try c.value(.centerInputSample, centerInputSample)
        flipSinToCos = try c.value(.flipSinToCos, flipSinToCos)
        freqShift = try c.value(.freqShift, freqShift)
        midBlockType = c.contains(.midBlockType) ? try c.decodeIfPresent(String.self, forKey: .midBlockType) : midBlockType
        layersPerBlock = try c.value(.layersPerBlock, layersPerBlock)
        downsamplePadding = try c.value(.downsamplePadding, downsamplePadding)
        midBlockScaleFactor = try c.value(.midBlockScaleFactor, midBlockScaleFactor)
        actFn = try c.value(.actFn, actFn)
        normNumGroups = try c.value(.normNumGroups, normNumGroups)
        normEps = try c.value(.normEps, normEps)
        crossAttentionDim = try c.value(.crossAttentionDim, crossAttentionDim)
        transformerLayersPerBlock = try c.value(.transformerLayersPerBlock, transformerLayersPerBlock)
        attentionHeadDim = try c.value(.attentionHeadDim, attentionHeadDim)
        numAttentionHeads = try c.decodeIfPresent(IntOrList.self, forKey: .numAttentionHeads)
        useLinearProjection = try c.value(.useLinearProjection, useLinearProjection)
        onlyCrossAttention = try c.value(.onlyCrossAttention, onlyCrossAttention)
        resnetTimeScaleShift = try c.value(.resnetTimeScaleShift, resnetTimeScaleShift)
        timeEmbeddingType = try c.value(.timeEmbeddingType, timeEmbeddingType)
        timeCondProjDim = try c.decodeIfPresent(Int.self, forKey: .timeCondProjDim)
        classEmbedType = try c.decodeIfPresent(String.self, forKey: .classEmbedType)
        additionEmbedType = try c.decodeIfPresent(String.self, forKey: .additionEmbedType)
        additionTimeEmbedDim = try c.decodeIfPresent(Int.self, forKey: .additionTimeEmbedDim)
        projectionClassEmbeddingsInputDim = try c.decodeIfPresent(Int.self, forKey: .projectionClassEmbeddingsInputDim)
        encoderHidDim = try c.decodeIfPresent(Int.self, forKey: .encoderHidDim)
        convInKernel = try c.value(.convInKernel, convInKernel)
        convOutKernel = try c.value(.convOutKernel, convOutKernel)
    }

    /// Per-block values and checks of what this engine supports; throws a ConfigError naming the field.
    public func resolved() throws -> Resolved {
        let n = blockOutChannels.count
        guard downBlockTypes.count == n, upBlockTypes.count == n else {
            throw ConfigError("down_block_types/up_block_types must have one entry per block_out_channels entry (\(n))")
        }
        for t in upBlockTypes where !["CrossAttnUpBlock2D", "UpBlock2D"].contains(t) {
            throw ConfigError("unsupported up block type '\(t)'")
        }
        return try resolvedEncoder()
    }

    /// `resolved()` without the up blocks: the checks of everything up to the mid block.
    func resolvedEncoder() throws -> Resolved {
        let n = blockOutChannels.count
        guard downBlockTypes.count == n else {
            throw ConfigError("down_block_types must have one entry per block_out_channels entry (\(n))")
        }
        for t in downBlockTypes where !["CrossAttnDownBlock2D", "DownBlock2D"].contains(t) {
            throw ConfigError("unsupported down block type '\(t)'")
        }
        if let m = midBlockType, m != "UNetMidBlock2DCrossAttn" { throw ConfigError("unsupported mid block type '\(m)'") }
        guard resnetTimeScaleShift == "default" else {
            throw ConfigError("unsupported resnet_time_scale_shift '\(resnetTimeScaleShift)'")
        }
        guard timeEmbeddingType == "positional" else {
            throw ConfigError("unsupported time_embedding_type '\(timeEmbeddingType)'")
        }
        guard classEmbedType == nil, encoderHidDim == nil, !onlyCrossAttention else {
            throw ConfigError("class embeddings, encoder_hid_dim and only_cross_attention are not supported")
        }
        if let a = additionEmbedType, a != "text_time" { throw ConfigError("unsupported addition_embed_type '\(a)'") }
        guard convInKernel == 3, convOutKernel == 3 else { throw ConfigError("conv_in/conv_out kernels must be 3") }
        guard let act = Activation(configName: actFn), act == .silu else {
            throw ConfigError("unsupported act_fn '\(actFn)'")
        }
        guard case .one(let crossDim) = crossAttentionDim else {
            throw ConfigError("per-block cross_attention_dim is not supported")
        }
        for ch in blockOutChannels where ch % normNumGroups != 0 {
            throw ConfigError("block_out_channels entry \(ch) is not a multiple of norm_num_groups \(normNumGroups)")
        }
        let heads = try (numAttentionHeads ?? attentionHeadDim).perBlock(n, key: "num_attention_heads")
        return Resolved(
            layersPerBlock: try layersPerBlock.perBlock(n, key: "layers_per_block"),
            transformerLayers: try transformerLayersPerBlock.perBlock(n, key: "transformer_layers_per_block"),
            heads: heads, crossAttentionDim: crossDim)
    }

    public struct Resolved: Sendable {
        public let layersPerBlock: [Int]
        public let transformerLayers: [Int]
        public let heads: [Int]
        public let crossAttentionDim: Int
    }

    /// 2^(number of upsamplers): the latent sizes that need no explicit upsample sizes.
    public var downsamplingFactor: Int { 1 << (blockOutChannels.count - 1) }
}
