// LoRA adapters merged into the base weights at load, as peft's LoraLayer.merge / get_delta_weight does
// (W' = W + alpha/r · weight · up @ down; for k×k convs ΔW[o,i,y,x] = Σ_r up[o,r] · down[r,i,y,x]).
// Key styles read (the conversions of diffusers loaders/lora_conversion_utils.py and lora_pipeline.py):
//   kohya:            lora_unet_<path with '_'>.lora_down.weight / .lora_up.weight / .alpha, lora_te_… for CLIP
//   peft / diffusers: unet.<path>.lora_A.weight / .lora_B.weight (also base_model.model.<path>), text_encoder.<path>;
//                     alpha from __metadata__["lora_adapter_metadata"] ("unet.lora_alpha", "unet.r"), else alpha = r
//   old diffusers:    unet.<…>.processor.to_q_lora.down.weight, <path>.lora.down.weight, …lora_linear_layer.down.weight
// Module paths are matched in a flattened form ('.' → '_'), so kohya names need no reverse mapping.
import Foundation
import TensorCore

public enum LoRAError: Error, CustomStringConvertible {
    case unreadable(file: String, problem: String)
    case unmatched(file: String, modules: [String])

    public var description: String {
        switch self {
        case let .unreadable(file, problem): return "LoRA \(file): \(problem)"
        case let .unmatched(file, modules):
            let shown = modules.prefix(4).joined(separator: ", ")
            return "LoRA \(file): \(modules.count) module(s) match no weight of the model: \(shown)"
                + (modules.count > 4 ? ", …" : "")
        }
    }
}

/// One low-rank update of one module's weight.
public struct LoRAUpdate: @unchecked Sendable {
    public let down: Tensor   // [r, in] or [r, in, k, k]
    public let up: Tensor     // [out, r] or [out, r, 1, 1]
    /// alpha / r × the user's weight.
    public let scale: Float
    public var rank: Int { down.shape[0] }
}

/// The updates of one LoRA file, by component ("unet", "text_encoder") and flattened module path.
public struct LoRAAdapter: Sendable {
    public let file: String
    public let weight: Float
    public let updates: [String: [String: LoRAUpdate]]

    /// `weight` multiplies every update (the `--lora FILE:WEIGHT` strength).
    public init(contentsOf url: URL, weight: Float = 1) throws {
        file = url.lastPathComponent
        self.weight = weight
        let st: SafeTensorsFile
        do { st = try SafeTensorsFile(contentsOf: url) } catch {
            throw LoRAError.unreadable(file: file, problem: "\(error)")
        }
        let metadataAlphas = try Self.metadataAlphas(st, file: file)
        struct Pending { var down: Tensor?; var up: Tensor?; var alpha: Float? }
        var pending: [String: [String: Pending]] = [:]
        for name in st.names {
            guard let key = Self.parse(name) else {
                throw LoRAError.unreadable(file: file, problem: "unrecognised key '\(name)' (not a LoRA file?)")
            }
            let tensor = try st.tensor(name)
            var entry = pending[key.component, default: [:]][key.module, default: Pending()]
            switch key.part {
            case .down: entry.down = tensor
            case .up: entry.up = tensor
            case .alpha:
                guard tensor.count == 1 else {
                    throw LoRAError.unreadable(file: file, problem: "\(name) is not a scalar")
                }
                entry.alpha = tensor[flat: 0]
            }
            pending[key.component, default: [:]][key.module] = entry
        }
        var updates: [String: [String: LoRAUpdate]] = [:]
        for (component, modules) in pending {
            for (module, entry) in modules {
                guard let down = entry.down, let up = entry.up else {
                    throw LoRAError.unreadable(file: file, problem: "\(component) \(module): "
                        + (entry.down == nil ? "no down (lora_A) weight" : "no up (lora_B) weight"))
                }
                let r = down.shape[0]
                guard down.rank == 2 || down.rank == 4, up.rank == down.rank, up.shape[1] == r,
                      up.rank == 2 || (up.shape[2] == 1 && up.shape[3] == 1) else {
                    throw LoRAError.unreadable(file: file, problem: "\(component) \(module): rank mismatch, down "
                        + "\(down.shape) and up \(up.shape)")
                }
                let meta = metadataAlphas[component]
                let alpha = entry.alpha ?? meta?.alpha ?? Float(r)
                let rank = meta?.rank ?? r
                updates[component, default: [:]][module] = LoRAUpdate(
                    down: down, up: up, scale: alpha / Float(rank) * weight)
            }
        }
        guard !updates.isEmpty else { throw LoRAError.unreadable(file: file, problem: "no LoRA weights") }
        self.updates = updates
    }

    enum Part { case down, up, alpha }

    /// (component, flattened module path, part) of a key in any of the supported styles; nil if unrecognised.
    static func parse(_ name: String) -> (component: String, module: String, part: Part)? {
        let suffixes: [(String, Part)] = [
            (".lora_down.weight", .down), (".lora_up.weight", .up), (".alpha", .alpha),
            (".lora_A.weight", .down), (".lora_B.weight", .up),
            ("_lora.down.weight", .down), ("_lora.up.weight", .up),  // processor.to_q_lora.down.weight
            (".lora.down.weight", .down), (".lora.up.weight", .up),
            (".lora_linear_layer.down.weight", .down), (".lora_linear_layer.up.weight", .up),
        ]
        guard let (suffix, part) = suffixes.first(where: { name.hasSuffix($0.0) }) else { return nil }
        var path = String(name.dropLast(suffix.count))
        if suffix.hasPrefix("_lora.") {  // old attention processors: …attn1.processor.to_out_lora → …attn1.to_out.0
            path = path.replacingOccurrences(of: ".processor.", with: ".")
            if path.hasSuffix(".to_out") { path += ".0" }
        }
        let prefixes: [(String, String)] = [
            ("lora_unet_", "unet"), ("lora_te_", "text_encoder"), ("lora_te1_", "text_encoder"),
            ("unet.", "unet"), ("text_encoder.", "text_encoder"), ("base_model.model.", "unet"),
        ]
        guard let (prefix, component) = prefixes.first(where: { path.hasPrefix($0.0) }) else { return nil }
        return (component, flatten(String(path.dropFirst(prefix.count)), component: component), part)
    }

    /// A module path in the form used for matching: '.' → '_', CLIP paths without their `text_model_` head.
    static func flatten(_ path: String, component: String) -> String {
        let flat = path.replacingOccurrences(of: ".", with: "_")
        return component == "text_encoder" && flat.hasPrefix("text_model_") ? String(flat.dropFirst(11)) : flat
    }

    /// Per-component alpha (and r) from diffusers' `lora_adapter_metadata` (peft LoraConfig fields).
    static func metadataAlphas(_ st: SafeTensorsFile, file: String) throws -> [String: (alpha: Float, rank: Int?)] {
        guard let json = st.metadata["lora_adapter_metadata"] else { return [:] }
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            throw LoRAError.unreadable(file: file, problem: "lora_adapter_metadata is not a JSON object")
        }
        var result: [String: (alpha: Float, rank: Int?)] = [:]
        for component in ["unet", "text_encoder"] {
            for key in ["alpha_pattern", "rank_pattern"] {
                if let pattern = object["\(component).\(key)"] as? [String: Any], !pattern.isEmpty {
                    throw LoRAError.unreadable(file: file, problem: "per-module \(key) is not supported")
                }
            }
            if let alpha = (object["\(component).lora_alpha"] as? NSNumber)?.floatValue {
                result[component] = (alpha, (object["\(component).r"] as? NSNumber)?.intValue)
            }
        }
        return result
    }
}

extension LoRAUpdate {
    /// scale · up @ down, shaped like a weight of `count` values; nil if it cannot have `shape`.
    func delta(fitting shape: [Int]) -> Tensor? {
        let r = rank
        let outF = up.shape[0]
        let inF = down.count / r
        guard outF * inF == shape.reduce(1, *), shape.first == outF else { return nil }
        let product = matmul(up.reshaped([outF, r]), down.reshaped([r, inF]))  // [out, in·k·k]
        return (product * scale).reshaped(shape)
    }
}
