// Configurations of known architectures, as their checkpoints' config.json files spell them, for building
// networks without a checkpoint folder (benchmarks on random weights).
import Foundation

public enum BuiltinArchitecture: String, CaseIterable, Sendable {
    /// SD1.5 with the LCM guidance embedding (SimianLuo/LCM_Dreamshaper_v7), 512 px native here.
    case sd15 = "sd15"

    public var unetConfig: UNet2DConditionConfig { decode(unetJSON) }
    public var vaeConfig: AutoencoderKLConfig { decode(vaeJSON) }
    public var textEncoderConfig: CLIPTextConfig { decode(textJSON) }

    private func decode<T: Decodable>(_ json: String) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(json.utf8))
        } catch {
            preconditionFailure("built-in \(rawValue) config does not decode: \(error)")
        }
    }

    private var unetJSON: String {
        """
        {"act_fn": "silu", "attention_head_dim": 8, "block_out_channels": [320, 640, 1280, 1280],
         "cross_attention_dim": 768, "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
         "CrossAttnDownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D",
         "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"], "layers_per_block": 2, "norm_num_groups": 32,
         "norm_eps": 1e-05, "sample_size": 64, "time_cond_proj_dim": 256, "in_channels": 4, "out_channels": 4,
         "use_linear_projection": false}
        """
    }

    private var vaeJSON: String {
        """
        {"block_out_channels": [128, 256, 512, 512], "layers_per_block": 2, "latent_channels": 4,
         "norm_num_groups": 32, "scaling_factor": 0.18215, "in_channels": 3, "out_channels": 3, "sample_size": 512}
        """
    }

    private var textJSON: String {
        """
        {"vocab_size": 49408, "hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
         "num_attention_heads": 12, "max_position_embeddings": 77, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-05}
        """
    }
}
