// Finding a component's weight files in a diffusers folder (`unet/diffusion_pytorch_model[.fp16].safetensors`,
// `text_encoder/model[.fp16].safetensors`, or sharded `*.safetensors.index[.fp16].json`), as diffusers'
// from_pretrained does for safetensors with or without a variant.
import Foundation
import TensorCore

public enum ComponentWeights {
    /// Opens the weight files of the component in `directory`. `baseName` is "diffusion_pytorch_model" (diffusers)
    /// or "model" (transformers). With `variant` nil, the plain files are used, or the fp16 variant when that is
    /// all there is.
    public static func open(directory: URL, baseName: String, variant: String?) throws -> [SafeTensorsFile] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory.path, isDirectory: &isDir), isDir.boolValue else {
            throw ModelLoadError.missingFile(directory.path)
        }
        func candidates(_ v: String?) -> (single: URL, index: URL) {
            let suffix = v.map { ".\($0)" } ?? ""
            return (directory.appendingPathComponent("\(baseName)\(suffix).safetensors"),
                    directory.appendingPathComponent("\(baseName).safetensors.index\(suffix).json"))
        }
        let order: [String?] = variant.map { [$0] } ?? [nil, "fp16"]
        for v in order {
            let c = candidates(v)
            if fm.fileExists(atPath: c.single.path) { return [try SafeTensorsFile(contentsOf: c.single)] }
            if fm.fileExists(atPath: c.index.path) { return try openSharded(index: c.index) }
        }
        let wanted = candidates(variant).single.lastPathComponent
        let hasBin = fm.fileExists(atPath: directory.appendingPathComponent("\(baseName).bin").path)
            || fm.fileExists(atPath: directory.appendingPathComponent("pytorch_model.bin").path)
        throw ModelLoadError.badConfig(
            file: directory.path,
            problem: "no \(wanted)" + (variant == nil ? " (nor an fp16 variant)" : "")
                + (hasBin ? "; pickled .bin weights are not supported, convert them to safetensors" : ""))
    }

    private static func openSharded(index: URL) throws -> [SafeTensorsFile] {
        struct Index: Decodable { let weight_map: [String: String] }
        let map = try loadConfig(Index.self, from: index).weight_map
        let dir = index.deletingLastPathComponent()
        return try Set(map.values).sorted().map { try SafeTensorsFile(contentsOf: dir.appendingPathComponent($0)) }
    }
}
