// `lcm convert`: a model (diffusers folder or SD-1.x single file, LoRAs merged) → a diffusers folder.
import ArgumentParser
import Foundation
import LCM
import TensorCore

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a model as a diffusers folder (LoRAs merged, weights in one storage type).",
        discussion: """
            The input is what --model (with --config, --unet, --vae, --variant) names; every --lora is merged \
            into the UNet and text-encoder weights. The output folder must not exist; it has model_index.json, \
            the scheduler and tokenizer, and unet/, vae/, text_encoder/ with their configs and safetensors under \
            diffusers names. Check it with `lcm inspect DIR`.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(name: .shortAndLong, help: "The new diffusers folder.") var output: String
    @Option(help: "Storage type of the weights: fp16, bf16 or fp32.") var dtype = "fp16"

    func run() throws {
        try runReportingErrors {
            let types: [String: SafeTensorsDType] = ["fp16": .f16, "bf16": .bf16, "fp32": .f32]
            guard let storage = types[dtype] else {
                throw ValidationError("--dtype must be fp16, bf16 or fp32 (got \(dtype))")
            }
            guard modelOptions.vaeTiny == nil, modelOptions.controlnet == nil else {
                throw ValidationError("--vae-tiny and --controlnet are not converted; leave them out")
            }
            let start = Date()
            let written = try DiffusersExport.write(try modelOptions.location(), to: URL(fileURLWithPath: output),
                                                    dtype: storage)
            for w in written {
                Console.note("\(w.component): \(w.tensors) tensors, \(w.parameters) parameters")
            }
            print(output)
            Console.note(String(format: "%@ weights, %.1f s", dtype, Date().timeIntervalSince(start)))
        }
    }
}
