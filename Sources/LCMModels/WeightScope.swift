// Weights by checkpoint name: a store over one or more safetensors files, and scopes that walk name prefixes
// (`scope["down_blocks"][0]["resnets"][1]["conv1"]`) the way the diffusers module tree spells the keys.
// Loading never stops at the first problem: missing tensors and shape mismatches are collected and reported
// together, by full name, when the model is finished (`WeightStore.finish`).
import Foundation
import TensorCore

public enum ModelLoadError: Error, CustomStringConvertible {
    case missingTensors(component: String, names: [String])
    case wrongShapes(component: String, details: [String])
    case badConfig(file: String, problem: String)
    case missingFile(String)

    public var description: String {
        switch self {
        case let .missingTensors(component, names):
            let shown = names.prefix(5).joined(separator: ", ")
            return "\(component): \(names.count) tensor(s) missing: \(shown)\(names.count > 5 ? ", …" : "")"
        case let .wrongShapes(component, details):
            let shown = details.prefix(3).joined(separator: "; ")
            return "\(component): \(details.count) tensor(s) of the wrong shape: \(shown)\(details.count > 3 ? "; …" : "")"
        case let .badConfig(file, problem): return "\(file): \(problem)"
        case let .missingFile(path): return "missing file: \(path)"
        }
    }
}

/// All tensors of one component (possibly several files), by canonical name, with use tracking.
/// A store made with `random(component:seed:)` has no files and answers every request with random weights of the
/// requested shape (benchmarks of an architecture without a checkpoint).
public final class WeightStore: @unchecked Sendable {
    public let component: String
    private var index: [String: (file: SafeTensorsFile, name: String)] = [:]
    private var randomState: UInt64?
    private var used: Set<String> = []
    private var missing: [String] = []
    private var wrongShape: [String] = []
    private var failures: [String] = []
    /// LoRA adapters merged into weights as they are requested, with the modules each has matched so far.
    private var adapters: [(file: String, component: String, updates: [String: LoRAUpdate], matched: Set<String>)] = []

    /// `canonicalName` maps a name as stored in a file to the name the model asks for (see KeyRenames).
    public init(component: String, files: [SafeTensorsFile], canonicalName: (String) -> String? = { $0 }) {
        self.component = component
        for file in files {
            for name in file.names {
                if let canonical = canonicalName(name) { index[canonical] = (file, name) }
            }
        }
    }

    /// Random weights for any name: norm weights 1, biases 0, other tensors uniform in ±1/sqrt(fan-in).
    public static func random(component: String, seed: UInt64) -> WeightStore {
        let store = WeightStore(component: component, files: [])
        store.randomState = seed | 1
        return store
    }

    /// Merges `adapter`'s updates for `component` ("unet", "text_encoder") into the weights requested from now on.
    public func merge(_ adapter: LoRAAdapter, as component: String) {
        guard let updates = adapter.updates[component] else { return }
        adapters.append((adapter.file, component, updates, []))
    }

    public var root: WeightScope { WeightScope(store: self, prefix: "") }
    public var names: [String] { index.keys.sorted() }
    public func contains(_ name: String) -> Bool { index[name] != nil }

    private func randomTensor(_ name: String, shape: [Int]) -> Tensor {
        if shape.count == 1 { return Tensor(shape: shape, repeating: name.hasSuffix("bias") ? 0 : 1) }
        let bound = 1 / Float(max(1, shape.dropFirst().reduce(1, *))).squareRoot()
        var state = randomState ?? 1
        let t = Tensor(shape: shape) { buf in
            for i in buf.indices {
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                buf[i] = (Float(state >> 40) / Float(1 << 24) * 2 - 1) * bound
            }
        }
        randomState = state
        return t
    }

    /// The tensor `name` at its stored shape (LoRA updates merged); problems are reported by `finish`.
    public func stored(_ name: String) -> Tensor {
        guard let entry = index[name], let info = entry.file.info(entry.name) else {
            missing.append(name)
            return Tensor(zeros: [0])
        }
        return tensor(name, shape: info.shape)
    }

    /// The tensor `name` checked against `shape`, as fp32; a stand-in of that shape (and a recorded problem)
    /// otherwise.
    func tensor(_ name: String, shape: [Int]) -> Tensor { weight(name, shape: shape).float32 }

    /// The weight `name` checked against `shape`, as stored (F16/BF16 stay half precision unless a LoRA update is
    /// merged into them); a stand-in of that shape (and a recorded problem) otherwise.
    func weight(_ name: String, shape: [Int]) -> Weight {
        if randomState != nil { return Weight(randomTensor(name, shape: shape)) }
        guard let entry = index[name] else {
            missing.append(name)
            return Weight(Tensor(zeros: shape))
        }
        used.insert(name)
        do {
            let w = try entry.file.weight(entry.name)
            if w.shape == shape { return mergingLoRA(name, w) }
            if w.count == shape.reduce(1, *) && w.shape.filter({ $0 != 1 }) == shape.filter({ $0 != 1 }) {
                // e.g. LDM 1×1 conv attention weights [C, C, 1, 1] used as [C, C]
                return mergingLoRA(name, w.reshaped(shape))
            }
            wrongShape.append("\(name) expected \(shape), found \(w.shape)")
        } catch {
            failures.append("\(error)")
        }
        return Weight(Tensor(zeros: shape))
    }

    /// `weight` plus the updates of every adapter for its module (an fp32 weight when any update applies).
    private func mergingLoRA(_ name: String, _ weight: Weight) -> Weight {
        guard !adapters.isEmpty, name.hasSuffix(".weight") else { return weight }
        var merged: Tensor?
        for i in adapters.indices {
            let module = LoRAAdapter.flatten(String(name.dropLast(7)), component: adapters[i].component)
            guard let update = adapters[i].updates[module] else { continue }
            adapters[i].matched.insert(module)
            guard let delta = update.delta(fitting: weight.shape) else {
                wrongShape.append("LoRA \(adapters[i].file) update of \(name) is \(update.up.shape[0])×"
                    + "\(update.down.count / update.rank), the weight \(weight.shape)")
                continue
            }
            merged = (merged ?? weight.float32) + delta
        }
        return merged.map(Weight.init) ?? weight
    }

    /// Throws if anything was missing or malformed, or a LoRA module matched no weight; returns the names no layer
    /// asked for.
    @discardableResult
    public func finish() throws -> [String] {
        if let failure = failures.first { throw ModelLoadError.badConfig(file: component, problem: failure) }
        if !missing.isEmpty { throw ModelLoadError.missingTensors(component: component, names: missing) }
        if !wrongShape.isEmpty { throw ModelLoadError.wrongShapes(component: component, details: wrongShape) }
        for adapter in adapters where adapter.matched.count < adapter.updates.count {
            let unmatched = adapter.updates.keys.filter { !adapter.matched.contains($0) }.sorted()
            throw LoRAError.unmatched(file: adapter.file, modules: unmatched.map { "\(adapter.component) \($0)" })
        }
        return index.keys.filter { !used.contains($0) }.sorted()
    }
}

/// A name prefix inside a WeightStore.
public struct WeightScope {
    let store: WeightStore
    public let prefix: String

    public subscript(_ key: String) -> WeightScope {
        WeightScope(store: store, prefix: prefix.isEmpty ? key : prefix + "." + key)
    }

    public subscript(_ index: Int) -> WeightScope { self[String(index)] }

    /// A tensor as fp32 (norms, biases, small tables).
    public func tensor(_ name: String, shape: [Int]) -> Tensor { store.tensor(self[name].prefix, shape: shape) }

    /// A matrix or convolution weight as stored (F16/BF16 stay half precision).
    public func weight(_ name: String, shape: [Int]) -> Weight { store.weight(self[name].prefix, shape: shape) }

}
