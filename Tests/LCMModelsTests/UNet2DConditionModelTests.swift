// UNet2DConditionModel against diffusers for SD1.5-LCM, SD2-style and SDXL-style tiny configs, with the
// intermediate block outputs (goldens: Weights/tools/make_fixtures.py, versions in each file's metadata).
import Testing
import LCMModels
import TensorCore
import TestSupport

@Suite struct UNet2DConditionModelTests {
    let atol: Float = 1e-4

    @Test(arguments: [
        ("tiny-lcm/unet", "tiny-lcm"), ("tiny-sd2-unet", "tiny-sd2-unet"), ("tiny-sdxl-unet", "tiny-sdxl-unet"),
    ], ["unet", "unet_odd"])
    func matchesDiffusers(model: (folder: String, goldens: String), file: String) throws {
        let unet = try TinyModels.unet(model.folder)
        let g = try Fixtures.golden("\(model.goldens)/\(file).safetensors")
        let t = try g.ints("timestep")[0]
        var added: UNet2DConditionModel.AddedConditions?
        if g.info("text_embeds") != nil {
            added = .init(textEmbeds: try g.tensor("text_embeds"), timeIds: try g.tensor("time_ids"))
        }
        var seen: [String: Tensor] = [:]
        let out = unet(try g.tensor("sample"), timestep: Float(t), encoderHiddenStates: try g.tensor("encoder_hidden_states"),
                       timestepCond: g.info("timestep_cond") != nil ? try g.tensor("timestep_cond") : nil,
                       added: added) { name, value in seen[name] = value }
        for (name, value) in seen where g.info(name) != nil {
            let c = compare(value, try g.tensor(name), atol: atol)
            #expect(c.ok, "\(model.folder) \(file) \(name): \(c)")
        }
        #expect(seen.keys.filter { g.info($0) != nil }.count >= 5)
        let c = compare(out, try g.tensor("out"), atol: atol)
        #expect(c.ok, "\(model.folder) \(file) out: \(c)")
    }
}
