// Port of diffusers models/autoencoders/autoencoder_tiny.py (AutoencoderTiny, the TAESD wrapper), with EncoderTiny and
// DecoderTiny from models/autoencoders/vae.py and AutoencoderTinyBlock from models/unets/unet_2d_blocks.py.
import Foundation
import TensorCore

public struct AutoencoderTinyConfig: Decodable, Sendable {
    public var inChannels = 3
    public var outChannels = 3
    public var encoderBlockOutChannels = [64, 64, 64, 64]
    public var decoderBlockOutChannels = [64, 64, 64, 64]
    public var actFn = "relu"
    public var upsampleFn = "nearest"
    public var latentChannels = 4
    public var upsamplingScalingFactor = 2
    public var numEncoderBlocks = [1, 3, 3, 3]
    public var numDecoderBlocks = [3, 3, 3, 1]
    /// Latents map to [0, 1] as latent / (2 · magnitude) + shift (TAESD's 8-bit latent images; not used by
    /// encode/decode).
    public var latentMagnitude: Float = 3
    public var latentShift: Float = 0.5
    /// 1: TAESD latents are already in the UNet's latent space.
    public var scalingFactor: Float = 1
    public var shiftFactor: Float = 0

    enum CodingKeys: String, CodingKey {
        case inChannels = "in_channels", outChannels = "out_channels"
        case encoderBlockOutChannels = "encoder_block_out_channels"
        case decoderBlockOutChannels = "decoder_block_out_channels"
        case actFn = "act_fn", upsampleFn = "upsample_fn", latentChannels = "latent_channels"
        case upsamplingScalingFactor = "upsampling_scaling_factor"
        case numEncoderBlocks = "num_encoder_blocks", numDecoderBlocks = "num_decoder_blocks"
        case latentMagnitude = "latent_magnitude", latentShift = "latent_shift"
        case scalingFactor = "scaling_factor", shiftFactor = "shift_factor"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        inChannels = try c.value(.inChannels, inChannels)
        outChannels = try c.value(.outChannels, outChannels)
        encoderBlockOutChannels = try c.value(.encoderBlockOutChannels, encoderBlockOutChannels)
        decoderBlockOutChannels = try c.value(.decoderBlockOutChannels, decoderBlockOutChannels)
        actFn = try c.value(.actFn, actFn)
        upsampleFn = try c.value(.upsampleFn, upsampleFn)
        latentChannels = try c.value(.latentChannels, latentChannels)
        upsamplingScalingFactor = try c.value(.upsamplingScalingFactor, upsamplingScalingFactor)
        numEncoderBlocks = try c.value(.numEncoderBlocks, numEncoderBlocks)
        numDecoderBlocks = try c.value(.numDecoderBlocks, numDecoderBlocks)
        latentMagnitude = try c.value(.latentMagnitude, latentMagnitude)
        latentShift = try c.value(.latentShift, latentShift)
        scalingFactor = try c.value(.scalingFactor, scalingFactor)
        shiftFactor = try c.value(.shiftFactor, shiftFactor)
        try validate()
    }

    /// The checks diffusers makes when it builds the model, and those its forward pass would fail.
    public func validate() throws {
        for (name, channels, blocks) in [("encoder", encoderBlockOutChannels, numEncoderBlocks),
                                         ("decoder", decoderBlockOutChannels, numDecoderBlocks)] {
            guard !channels.isEmpty, channels.count == blocks.count else {
                throw ConfigError("\(name)_block_out_channels \(channels) needs one entry per num_\(name)_blocks "
                                  + "entry \(blocks)")
            }
            // Each stage's first conv maps its own width to itself, so the previous stage must have that width.
            guard channels[0] > 0, channels.allSatisfy({ $0 == channels[0] }), blocks.allSatisfy({ $0 >= 0 }) else {
                throw ConfigError("\(name)_block_out_channels \(channels) must all be equal and positive, "
                                  + "num_\(name)_blocks \(blocks) non-negative")
            }
        }
        guard inChannels > 0, outChannels > 0, latentChannels > 0 else {
            throw ConfigError("in_channels, out_channels and latent_channels must be positive")
        }
        guard activation != nil else { throw ConfigError("unsupported act_fn '\(actFn)'") }
        guard upsampleFn == "nearest", upsamplingScalingFactor >= 1 else {
            throw ConfigError("unsupported upsampling '\(upsampleFn)' × \(upsamplingScalingFactor)")
        }
    }

    /// diffusers get_activation: the names it knows, case-insensitive (mish is not supported here).
    var activation: Activation? {
        let name = actFn.lowercased()
        return ["relu", "silu", "swish", "gelu"].contains(name) ? Activation(configName: name) : nil
    }

    /// Pixels per latent cell in decode: upsampling_scaling_factor^(decoder stages − 1) (8 for TAESD).
    public var scaleFactor: Int {
        (1..<numDecoderBlocks.count).reduce(1) { f, _ in f * upsamplingScalingFactor }
    }
}

/// AutoencoderTinyBlock: ReLU(conv(act(conv(act(conv(x))))) + x). Input and output widths are always equal in
/// AutoencoderTiny, so the skip is the identity.
struct TinyBlock: Sendable {
    let convs: [Conv2d]
    let act: Activation

    init(_ s: WeightScope, channels: Int, act: Activation) {
        convs = [0, 2, 4].map { Conv2d(s["conv"][$0], in: channels, out: channels, kernel: 3) }
        self.act = act
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = convs[0](x)
        act.applyInPlace(&h)
        h = convs[1](h)
        act.applyInPlace(&h)
        h = convs[2](h)
        h += x
        Activation.relu.applyInPlace(&h)
        return h
    }
}

/// One entry of the encoder's or decoder's nn.Sequential `layers`.
enum TinyLayer: Sendable {
    case conv(Conv2d)
    case activation(Activation)
    case block(TinyBlock)
    case upsample(factor: Int)

    func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .conv(let conv): conv(x)
        case .activation(let act): act(x)
        case .block(let block): block(x)
        case .upsample(let f): upsampleNearest(x, height: x.shape[2] * f, width: x.shape[3] * f)
        }
    }
}

/// Runs `layers` in order, reporting each output as `<prefix>.<index>`.
private func run(_ layers: [TinyLayer], _ x: Tensor, prefix: String,
                 observe: ((String, Tensor) -> Void)?) -> Tensor {
    var h = x
    for (i, layer) in layers.enumerated() {
        h = layer(h)
        observe?("\(prefix).\(i)", h)
    }
    return h
}

/// y = f(x) elementwise (the small input and output maps of encode and decode).
private func mapElements(_ x: Tensor, _ f: (Float) -> Float) -> Tensor {
    var y = x
    y.withUnsafeMutableBufferPointer { buf in
        for i in buf.indices { buf[i] = f(buf[i]) }
    }
    return y
}

public struct AutoencoderTiny: Sendable {
    public let config: AutoencoderTinyConfig
    let encoder: [TinyLayer]?
    let decoder: [TinyLayer]
    /// False when loaded for decoding only.
    public var hasEncoder: Bool { encoder != nil }

    /// `withEncoder: false` skips the encoder weights (text-to-image needs only the decoder).
    public init(config c: AutoencoderTinyConfig, weights: WeightStore, withEncoder: Bool = true) throws {
        try c.validate()
        config = c
        let act = c.activation ?? .relu
        let root = weights.root

        let d = root["decoder"]["layers"]
        let dch = c.decoderBlockOutChannels[0]
        var dec: [TinyLayer] = [.conv(Conv2d(d[0], in: c.latentChannels, out: dch, kernel: 3)), .activation(act)]
        for (stage, blocks) in c.numDecoderBlocks.enumerated() {
            let last = stage == c.numDecoderBlocks.count - 1
            for _ in 0..<blocks { dec.append(.block(TinyBlock(d[dec.count], channels: dch, act: act))) }
            if !last { dec.append(.upsample(factor: c.upsamplingScalingFactor)) }
            dec.append(.conv(Conv2d(d[dec.count], in: dch, out: last ? c.outChannels : dch, kernel: 3, bias: last)))
        }
        decoder = dec

        guard withEncoder else {
            encoder = nil
            return
        }
        let e = root["encoder"]["layers"]
        let ech = c.encoderBlockOutChannels[0]
        var enc: [TinyLayer] = []
        for blocks in c.numEncoderBlocks {
            enc.append(.conv(enc.isEmpty
                ? Conv2d(e[0], in: c.inChannels, out: ech, kernel: 3)
                : Conv2d(e[enc.count], in: ech, out: ech, kernel: 3, stride: 2, bias: false)))
            for _ in 0..<blocks { enc.append(.block(TinyBlock(e[enc.count], channels: ech, act: act))) }
        }
        enc.append(.conv(Conv2d(e[enc.count], in: ech, out: c.latentChannels, kernel: 3)))
        encoder = enc
    }

    /// Image [B, out, h·f, w·f] in [−1, 1] (unclamped) from latents [B, latent, h, w], f = `config.scaleFactor`.
    /// `observe` sees each `decoder.layers.<i>` output.
    public func decode(_ latents: Tensor, observe: ((String, Tensor) -> Void)? = nil) -> Tensor {
        let clamped = mapElements(latents) { tanh($0 / 3) * 3 }
        return mapElements(run(decoder, clamped, prefix: "decoder.layers", observe: observe)) { $0 * 2 - 1 }
    }

    /// Latents [B, latent, ⌈H/2ⁿ⌉, ⌈W/2ⁿ⌉] (n = encoder stages − 1) of images [B, in, H, W] in [−1, 1].
    /// `observe` sees each `encoder.layers.<i>` output.
    public func encode(_ image: Tensor, observe: ((String, Tensor) -> Void)? = nil) -> Tensor {
        guard let encoder else { preconditionFailure("AutoencoderTiny.encode: loaded without the encoder") }
        return run(encoder, mapElements(image) { ($0 + 1) / 2 }, prefix: "encoder.layers", observe: observe)
    }
}
