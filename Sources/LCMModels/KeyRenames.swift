// Every checkpoint key rename in one table: names as stored in files → the diffusers/transformers names the
// networks ask for. Returning nil drops a key that is not a weight (e.g. position_ids buffers).
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
}
