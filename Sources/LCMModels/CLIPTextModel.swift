// Port of transformers models/clip/modeling_clip.py: CLIPTextModel (and the projection of
// CLIPTextModelWithProjection) with a causal mask and no padding mask, as Stable Diffusion pipelines run it.
import Foundation
import TensorCore

public struct CLIPTextConfig: Decodable, Sendable {
    public var vocabSize = 49408
    public var hiddenSize = 512
    public var intermediateSize = 2048
    public var numHiddenLayers = 12
    public var numAttentionHeads = 8
    public var maxPositionEmbeddings = 77
    public var hiddenAct = "quick_gelu"
    public var layerNormEps: Float = 1e-5
    public var projectionDim: Int? = nil
    public var eosTokenId = 2

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case maxPositionEmbeddings = "max_position_embeddings", hiddenAct = "hidden_act"
        case layerNormEps = "layer_norm_eps", projectionDim = "projection_dim", eosTokenId = "eos_token_id"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.value(.vocabSize, vocabSize)
        hiddenSize = try c.value(.hiddenSize, hiddenSize)
        intermediateSize = try c.value(.intermediateSize, intermediateSize)
        numHiddenLayers = try c.value(.numHiddenLayers, numHiddenLayers)
        numAttentionHeads = try c.value(.numAttentionHeads, numAttentionHeads)
        maxPositionEmbeddings = try c.value(.maxPositionEmbeddings, maxPositionEmbeddings)
        hiddenAct = try c.value(.hiddenAct, hiddenAct)
        layerNormEps = try c.value(.layerNormEps, layerNormEps)
        projectionDim = try c.decodeIfPresent(Int.self, forKey: .projectionDim)
        eosTokenId = try c.value(.eosTokenId, eosTokenId)
        guard Activation(configName: hiddenAct) != nil else { throw ConfigError("unsupported hidden_act '\(hiddenAct)'") }
        guard hiddenSize % numAttentionHeads == 0 else {
            throw ConfigError("hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(numAttentionHeads)")
        }
    }
}

struct CLIPEncoderLayer: Sendable {
    let layerNorm1: LayerNorm
    let q, k, v, out: Linear
    let layerNorm2: LayerNorm
    let fc1, fc2: Linear
    let heads: Int
    let act: Activation

    init(_ s: WeightScope, config c: CLIPTextConfig) {
        let d = c.hiddenSize
        layerNorm1 = LayerNorm(s["layer_norm1"], dim: d, eps: c.layerNormEps)
        let a = s["self_attn"]
        q = Linear(a["q_proj"], in: d, out: d)
        k = Linear(a["k_proj"], in: d, out: d)
        v = Linear(a["v_proj"], in: d, out: d)
        out = Linear(a["out_proj"], in: d, out: d)
        layerNorm2 = LayerNorm(s["layer_norm2"], dim: d, eps: c.layerNormEps)
        fc1 = Linear(s["mlp"]["fc1"], in: d, out: c.intermediateSize)
        fc2 = Linear(s["mlp"]["fc2"], in: c.intermediateSize, out: d)
        heads = c.numAttentionHeads
        act = Activation(configName: c.hiddenAct) ?? .quickGelu
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let n = layerNorm1(x)  // the residual adds inside out_proj and fc2
        let h = out(attention(query: q(n), key: k(n), value: v(n), heads: heads, causal: true), residual: x)
        var m = fc1(layerNorm2(h))  // [B, T, intermediate]
        act.applyInPlace(&m)
        return fc2(m, residual: h)
    }
}

public struct CLIPTextModel: Sendable {
    public let config: CLIPTextConfig
    let tokenEmbedding: Weight     // [vocab, D], as stored (rows widened on lookup)
    let positionEmbedding: Tensor  // [positions, D]
    let layers: [CLIPEncoderLayer]
    let finalLayerNorm: LayerNorm
    let textProjection: Linear?

    public struct Output: Sendable {
        /// After the final LayerNorm [B, T, D] (what SD1.x/SD2.x pipelines use).
        public let lastHiddenState: Tensor
        /// Output of the second-to-last layer, without the final LayerNorm (SDXL's hidden_states[-2]).
        public let penultimateHiddenState: Tensor
        /// Final-LayerNorm state at the EOS token [B, D], projected when the model has text_projection.
        public let pooled: Tensor
    }

    /// Weights named as on disk in real checkpoints (`text_model.…`, plus `text_projection` when `withProjection`).
    public init(config: CLIPTextConfig, weights: WeightStore, withProjection: Bool = false) throws {
        self.config = config
        let s = weights.root["text_model"]
        let d = config.hiddenSize
        tokenEmbedding = s["embeddings"]["token_embedding"].weight("weight", shape: [config.vocabSize, d])
        positionEmbedding = s["embeddings"]["position_embedding"].tensor("weight", shape: [config.maxPositionEmbeddings, d])
        layers = (0..<config.numHiddenLayers).map { CLIPEncoderLayer(s["encoder"]["layers"][$0], config: config) }
        finalLayerNorm = LayerNorm(s["final_layer_norm"], dim: d, eps: config.layerNormEps)
        if withProjection {
            guard let p = config.projectionDim else { throw ConfigError("text_projection needs projection_dim") }
            textProjection = Linear(weights.root["text_projection"], in: d, out: p, bias: false)
        } else {
            textProjection = nil
        }
    }

    /// Encodes token id rows (all of the same length ≤ max_position_embeddings).
    public func callAsFunction(_ ids: [[Int]]) throws -> Output {
        let batch = ids.count
        let length = ids.first?.count ?? 0
        let d = config.hiddenSize
        guard batch > 0, ids.allSatisfy({ $0.count == length }), length <= config.maxPositionEmbeddings else {
            throw ConfigError("text encoder: token rows must share one length ≤ \(config.maxPositionEmbeddings)")
        }
        if let bad = ids.joined().first(where: { $0 < 0 || $0 >= config.vocabSize }) {
            throw ConfigError("text encoder: token id \(bad) outside the vocabulary of \(config.vocabSize)")
        }
        var h = embedding(Array(ids.joined()), table: tokenEmbedding).reshaped([batch, length, d])
        let positions = Tensor(shape: [length, d]) { buf in
            buf.baseAddress!.update(from: positionEmbedding.data, count: length * d)
        }
        h += concat(Array(repeating: positions, count: batch), axis: 0).reshaped([batch, length, d])
        var penultimate = h
        for (i, layer) in layers.enumerated() {
            if i == layers.count - 1 { penultimate = h }
            h = layer(h)
        }
        let last = finalLayerNorm(h)  // [B, T, D]
        // transformers: with the legacy eos_token_id 2, the EOS position is argmax(ids); else the first eos id.
        let eosRows = ids.map { row in
            config.eosTokenId == 2 ? row.firstIndex(of: row.max() ?? 0) ?? 0
                : row.firstIndex(of: config.eosTokenId) ?? (row.count - 1)
        }
        var pooled = Tensor(shape: [batch, d]) { buf in
            for (b, t) in eosRows.enumerated() {
                (buf.baseAddress! + b * d).update(from: last.data + (b * length + t) * d, count: d)
            }
        }
        if let textProjection { pooled = textProjection(pooled) }
        return Output(lastHiddenState: last, penultimateHiddenState: penultimate, pooled: pooled)
    }
}
