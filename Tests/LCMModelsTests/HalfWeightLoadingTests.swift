// Layers loaded from F16 checkpoints keep their matrix and convolution weights in half precision (norms and
// biases widened); a LoRA update merged into a weight makes that weight fp32, the others stay half.
import Foundation
import LCMModels
import Testing
import TensorCore
import TestSupport

@Suite struct HalfWeightLoadingTests {
    static func unetStore() throws -> WeightStore {
        WeightStore(component: "unet", files: try ComponentWeights.open(
            directory: Fixtures.url("tiny-sd15-unet"), baseName: "diffusion_pytorch_model", variant: nil))
    }

    @Test func layersKeepF16Weights() throws {
        let store = try Self.unetStore()
        let conv = Conv2d(store.root["conv_in"], in: 4, out: 16, kernel: 3)
        #expect(conv.weight.dtype == .f16)
        #expect(conv.weight.byteCount == 16 * 4 * 9 * 2)
        #expect(conv.bias?.shape == [16])
        let text = WeightStore(component: "text_encoder", files: try ComponentWeights.open(
            directory: Fixtures.url("tiny-lcm/text_encoder"), baseName: "model", variant: nil),
            canonicalName: KeyRenames.clipText)
        let q = Linear(text.root["text_model"]["encoder"]["layers"][0]["self_attn"]["q_proj"], in: 16, out: 16)
        #expect(q.weight.dtype == .f16)
        #expect(q.weight.byteCount == 16 * 16 * 2)
    }

    @Test func loraMergedWeightBecomesFP32() throws {
        let store = try Self.unetStore()
        store.merge(try LoRAAdapter(contentsOf: Fixtures.url("lora/kohya-rank2.safetensors"), weight: 0.7), as: "unet")
        let projIn = store.root["down_blocks"][0]["attentions"][0]["proj_in"]
        let merged = Conv2d(projIn, in: 16, out: 16, kernel: 1).weight
        #expect(merged.dtype == .f32)
        #expect(merged.float32.scalars == projIn.tensor("weight", shape: [16, 16, 1, 1]).scalars)
        let plain = try Self.unetStore().root["down_blocks"][0]["attentions"][0]["proj_in"]
        #expect(merged.float32.scalars != plain.tensor("weight", shape: [16, 16, 1, 1]).scalars)
        #expect(Conv2d(store.root["conv_in"], in: 4, out: 16, kernel: 3).weight.dtype == .f16)
    }
}
