// Every checkpoint key rename in one table: names as stored in files → the diffusers/transformers names the
// networks ask for. Returning nil drops a key that is not a weight (e.g. position_ids buffers) or, for single-file
// checkpoints, a key of another component. The original (LDM/CompVis) single-file names follow diffusers
// loaders/single_file_utils.py (convert_ldm_unet_checkpoint, convert_ldm_vae_checkpoint, convert_ldm_clip_checkpoint).
public enum KeyRenames {
    /// CLIP text encoders: real checkpoints keep the `text_model.` prefix; transformers ≥ 5.6 saves without it.
    public static func clipText(_ name: String) -> String? {
        if name.hasSuffix("embeddings.position_ids") { return nil }
        if name.hasPrefix("text_model.") || name.hasPrefix("text_projection.") { return name }
        return "text_model." + name
    }

    /// VAE files from older diffusers versions name the mid-block attention query/key/value/proj_attn.
    static let vaeLegacyAttention: [(old: String, new: String)] = [
        (".attentions.0.query.", ".attentions.0.to_q."),
        (".attentions.0.key.", ".attentions.0.to_k."),
        (".attentions.0.value.", ".attentions.0.to_v."),
        (".attentions.0.proj_attn.", ".attentions.0.to_out.0."),
    ]

    public static func vae(_ name: String) -> String? {
        for rule in vaeLegacyAttention where name.contains(rule.old) {
            return name.replacingOccurrences(of: rule.old, with: rule.new)
        }
        return name
    }

    // MARK: Original (LDM/CompVis) SD-1.x single-file checkpoints

    /// Where each component's tensors live in an SD-1.x single file.
    public enum LDMPrefix {
        public static let unet = "model.diffusion_model."
        public static let vae = "first_stage_model."
        public static let textEncoder = "cond_stage_model.transformer."
    }

    /// UNet names renamed as a whole (by their head).
    static let ldmUNetFixed: [(ldm: String, diffusers: String)] = [
        ("time_embed.0.", "time_embedding.linear_1."), ("time_embed.2.", "time_embedding.linear_2."),
        ("input_blocks.0.0.", "conv_in."), ("out.0.", "conv_norm_out."), ("out.2.", "conv_out."),
    ]
    /// Inside a UNet resnet (LDM ResBlock → ResnetBlock2D).
    static let ldmUNetResnet: [(ldm: String, diffusers: String)] = [
        ("in_layers.0.", "norm1."), ("in_layers.2.", "conv1."), ("emb_layers.1.", "time_emb_proj."),
        ("out_layers.0.", "norm2."), ("out_layers.3.", "conv2."), ("skip_connection.", "conv_shortcut."),
    ]
    /// The children of middle_block (resnet, spatial transformer, resnet) and the renames inside each.
    static let ldmUNetMiddle: [String: (block: String, inner: [(ldm: String, diffusers: String)])] = [
        "0": ("mid_block.resnets.0.", ldmUNetResnet), "1": ("mid_block.attentions.0.", []),
        "2": ("mid_block.resnets.1.", ldmUNetResnet),
    ]
    /// Inside a VAE resnet (the other names match).
    static let ldmVAEResnet: [(ldm: String, diffusers: String)] = [("nin_shortcut.", "conv_shortcut.")]
    /// Inside the VAE mid-block attention. LDM stores q/k/v/proj_out as 1×1 conv weights [C, C, 1, 1]; WeightStore
    /// hands them out as the [C, C] the Linear layers ask for.
    static let ldmVAEAttention: [(ldm: String, diffusers: String)] = [
        ("norm.", "group_norm."), ("q.", "to_q."), ("k.", "to_k."), ("v.", "to_v."), ("proj_out.", "to_out.0."),
    ]
    /// The children of `encoder.mid` / `decoder.mid` and the renames inside each.
    static let ldmVAEMiddle: [String: (block: String, inner: [(ldm: String, diffusers: String)])] = [
        "block_1": ("mid_block.resnets.0.", ldmVAEResnet), "block_2": ("mid_block.resnets.1.", ldmVAEResnet),
        "attn_1": ("mid_block.attentions.0.", ldmVAEAttention),
    ]
    static let ldmVAESamplers = ["downsample": "downsamplers.0.", "upsample": "upsamplers.0."]
    static let ldmVAEFixed: [(ldm: String, diffusers: String)] = [("norm_out.", "conv_norm_out.")]

    /// An SD-1.x single-file UNet name (`model.diffusion_model.…`) → its UNet2DConditionModel name; nil outside that
    /// prefix. input_blocks and output_blocks count `layersPerBlock + 1` entries per level: input_blocks.0 is conv_in,
    /// then per level the resnets (`.0`) with their attentions (`.1`) and one downsampler (`.0.op`); output_blocks
    /// hold one resnet more per level, the last one followed by the upsampler (`.1.conv`, or `.2.conv` after an
    /// attention). Names no rule covers keep their name: LCM's `time_embedding.cond_proj`, which LDM has no name for,
    /// is written that way by diffusers' convert_diffusers_to_original_stable_diffusion.py.
    public static func ldmUNet(_ name: String, layersPerBlock: Int) -> String? {
        guard let local = dropping(LDMPrefix.unet, from: name) else { return nil }
        if let renamed = renamingHead(local, ldmUNetFixed) { return renamed }
        let stride = layersPerBlock + 1
        if let (head, rest) = splitHead(local, 3), let block = Int(head[1]) {
            let isSampler = rest.hasPrefix("conv.")
            switch (head[0], head[2]) {
            case ("input_blocks", "0") where block > 0 && rest.hasPrefix("op."):
                return "down_blocks.\((block - 1) / stride).downsamplers.0.conv." + rest.dropFirst("op.".count)
            case ("input_blocks", "0") where block > 0:
                return "down_blocks.\((block - 1) / stride).resnets.\((block - 1) % stride)." + unetResnet(rest)
            case ("input_blocks", "1") where block > 0:
                return "down_blocks.\((block - 1) / stride).attentions.\((block - 1) % stride)." + rest
            case ("output_blocks", "0"):
                return "up_blocks.\(block / stride).resnets.\(block % stride)." + unetResnet(rest)
            case ("output_blocks", "1") where isSampler, ("output_blocks", "2") where isSampler:
                return "up_blocks.\(block / stride).upsamplers.0." + rest
            case ("output_blocks", "1"):
                return "up_blocks.\(block / stride).attentions.\(block % stride)." + rest
            default: break
            }
        }
        if let (head, rest) = splitHead(local, 2), head[0] == "middle_block",
           let child = ldmUNetMiddle[String(head[1])] {
            return child.block + (renamingHead(rest, child.inner) ?? String(rest))
        }
        return String(local)
    }

    /// An SD-1.x single-file VAE name (`first_stage_model.…`) → its AutoencoderKL name; nil outside that prefix.
    /// `levels` is the number of blocks: the decoder's `up.k` is numbered from the bottom, so it is
    /// `up_blocks.(levels − 1 − k)`. conv_in, conv_out, quant_conv and post_quant_conv keep their names.
    public static func ldmVAE(_ name: String, levels: Int) -> String? {
        guard let local = dropping(LDMPrefix.vae, from: name) else { return nil }
        guard let (coder, inner) = splitHead(local, 1), coder[0] == "encoder" || coder[0] == "decoder" else {
            return String(local)
        }
        let prefix = coder[0] + "."
        if let (head, rest) = splitHead(inner, 3), head[0] == "down" || head[0] == "up", let k = Int(head[1]) {
            let block = prefix + "\(head[0])_blocks.\(head[0] == "down" ? k : levels - 1 - k)."
            if head[2] == "block", let (slot, tail) = splitHead(rest, 1) {
                return block + "resnets.\(slot[0])." + (renamingHead(tail, ldmVAEResnet) ?? String(tail))
            }
            if let sampler = ldmVAESamplers[String(head[2])] { return block + sampler + rest }
        }
        if let (head, rest) = splitHead(inner, 2), head[0] == "mid", let child = ldmVAEMiddle[String(head[1])] {
            return prefix + child.block + (renamingHead(rest, child.inner) ?? String(rest))
        }
        return prefix + (renamingHead(inner, ldmVAEFixed) ?? String(inner))
    }

    /// An SD-1.x single-file text-encoder name (`cond_stage_model.transformer.text_model.…`) → its CLIPTextModel
    /// name; nil outside that prefix and for the position_ids buffer.
    public static func ldmCLIPText(_ name: String) -> String? {
        dropping(LDMPrefix.textEncoder, from: name).flatMap { clipText(String($0)) }
    }

    private static func unetResnet(_ rest: Substring) -> String { renamingHead(rest, ldmUNetResnet) ?? String(rest) }

    private static func dropping(_ prefix: String, from name: String) -> Substring? {
        name.hasPrefix(prefix) ? name.dropFirst(prefix.count) : nil
    }

    /// `name` with its head replaced by the first rule that matches; nil if none does.
    private static func renamingHead(_ name: Substring, _ rules: [(ldm: String, diffusers: String)]) -> String? {
        for rule in rules where name.hasPrefix(rule.ldm) { return rule.diffusers + name.dropFirst(rule.ldm.count) }
        return nil
    }

    /// The first `count` dot-separated components of `name` and what follows them; nil if it has fewer.
    private static func splitHead(_ name: Substring, _ count: Int) -> (head: [Substring], rest: Substring)? {
        var head: [Substring] = []
        var rest = name
        for _ in 0..<count {
            guard let dot = rest.firstIndex(of: ".") else { return nil }
            head.append(rest[..<dot])
            rest = rest[rest.index(after: dot)...]
        }
        return (head, rest)
    }
}
