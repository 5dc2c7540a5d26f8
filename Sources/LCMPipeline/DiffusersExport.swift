// Writing a model (a diffusers folder or an SD-1.x single file, with folder overrides and LoRAs merged) as a
// diffusers folder: configs, tokenizer and scheduler copied, UNet/VAE/text-encoder weights under diffusers and
// transformers names (as diffusers' from_single_file + save_pretrained would write them) in one storage type.
import Foundation
import LCMModels
import TensorCore

public enum DiffusersExport {
    /// What was written for one component.
    public struct Written: Sendable {
        public let component: String
        public let file: URL
        public let tensors: Int
        public let parameters: Int
    }

    /// Writes `location` to the new folder `output` (which must not exist); weights stored as `dtype`
    /// (.f16, .bf16 or .f32). The folder appears only when everything was written.
    public static func write(_ location: ModelLocation, to output: URL,
                             dtype: SafeTensorsDType = .f16) throws -> [Written] {
        let fm = FileManager.default
        guard !fm.fileExists(atPath: output.path) else {
            throw ModelLoadError.badConfig(file: output.path, problem: "already exists; choose a new output folder")
        }
        // Building the networks first proves that every weight fits the configs (names, shapes, LoRA modules).
        _ = try LoadedModel(location, withVAEEncoder: true)
        let sources = try ComponentSources(location)
        let staging = output.deletingLastPathComponent()
            .appendingPathComponent(".\(output.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)")
        try? fm.removeItem(at: staging)
        try fm.createDirectory(at: staging, withIntermediateDirectories: true)
        do {
            try fm.copyItem(at: location.directory.appendingPathComponent("model_index.json"),
                            to: staging.appendingPathComponent("model_index.json"))
            for component in ["tokenizer", "scheduler"] {
                try fm.copyItem(at: try sources.folder(component), to: staging.appendingPathComponent(component))
            }
            var written: [Written] = []
            for component in ["text_encoder", "unet", "vae"] {
                let dir = staging.appendingPathComponent(component)
                try fm.createDirectory(at: dir, withIntermediateDirectories: true)
                try fm.copyItem(at: try sources.folder(component).appendingPathComponent("config.json"),
                                to: dir.appendingPathComponent("config.json"))
                let store = try sources.weights(component)
                let tensors = store.names.map { name in
                    (name: name, tensor: component == "vae" ? vaeShaped(name, store.stored(name)) : store.stored(name))
                }
                try store.finish()
                let file = dir.appendingPathComponent(
                    component == "text_encoder" ? "model.safetensors" : "diffusion_pytorch_model.safetensors")
                try SafeTensorsWriter.write(tensors, dtype: dtype, metadata: ["format": "pt"], to: file)
                written.append(Written(component: component, file: output.appendingPathComponent(component)
                                           .appendingPathComponent(file.lastPathComponent),
                                       tensors: tensors.count, parameters: tensors.reduce(0) { $0 + $1.tensor.count }))
            }
            try fm.moveItem(at: staging, to: output)
            return written
        } catch {
            try? fm.removeItem(at: staging)
            throw error
        }
    }

    /// LDM VAE attention projections are 1×1 convolutions [C, C, 1, 1]; diffusers stores them as linear [C, C].
    static func vaeShaped(_ name: String, _ t: Tensor) -> Tensor {
        guard name.contains("mid_block.attentions."), name.hasSuffix(".weight"), t.rank == 4,
              t.shape[2] == 1, t.shape[3] == 1 else { return t }
        return t.reshaped([t.shape[0], t.shape[1]])
    }
}
