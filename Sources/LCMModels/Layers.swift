// Basic layers with weights in PyTorch layout (torch.nn.Linear, Conv2d, GroupNorm, LayerNorm). Linear and Conv2d
// weights stay as the checkpoint stores them (F16/BF16 are widened per call); norms and biases are fp32.
import TensorCore

public struct Linear: Sendable {
    public let weight: Weight  // [out, in]
    public let bias: Tensor?   // [out]

    public init(_ scope: WeightScope, in inFeatures: Int, out outFeatures: Int, bias hasBias: Bool = true) {
        weight = scope.weight("weight", shape: [outFeatures, inFeatures])
        bias = hasBias ? scope.tensor("bias", shape: [outFeatures]) : nil
    }

    /// x [..., in] → [..., out], plus `residual` [..., out] when given.
    public func callAsFunction(_ x: Tensor, residual: Tensor? = nil) -> Tensor {
        linear(x, weight: weight, bias: bias, residual: residual)
    }
}

public struct Conv2d: Sendable {
    public let weight: Weight  // [out, in, k, k]
    public let bias: Tensor?
    public let stride: Int
    public let padding: Padding2D

    public init(_ scope: WeightScope, in inChannels: Int, out outChannels: Int, kernel: Int, stride: Int = 1,
                padding: Int? = nil, bias hasBias: Bool = true) {
        weight = scope.weight("weight", shape: [outChannels, inChannels, kernel, kernel])
        bias = hasBias ? scope.tensor("bias", shape: [outChannels]) : nil
        self.stride = stride
        self.padding = .same(padding ?? kernel / 2)
    }

    public init(_ scope: WeightScope, in inChannels: Int, out outChannels: Int, kernel: Int, stride: Int,
                padding: Padding2D) {
        weight = scope.weight("weight", shape: [outChannels, inChannels, kernel, kernel])
        bias = scope.tensor("bias", shape: [outChannels])
        self.stride = stride
        self.padding = padding
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding)  // [B, out, H', W']
    }
}

public struct GroupNorm: Sendable {
    public let weight: Tensor
    public let bias: Tensor
    public let groups: Int
    public let eps: Float

    public init(_ scope: WeightScope, groups: Int, channels: Int, eps: Float) {
        weight = scope.tensor("weight", shape: [channels])
        bias = scope.tensor("bias", shape: [channels])
        self.groups = groups
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor, silu: Bool = false) -> Tensor {
        groupNorm(x, groups: groups, weight: weight, bias: bias, eps: eps, silu: silu)
    }
}

public struct LayerNorm: Sendable {
    public let weight: Tensor
    public let bias: Tensor
    public let eps: Float

    public init(_ scope: WeightScope, dim: Int, eps: Float) {
        weight = scope.tensor("weight", shape: [dim])
        bias = scope.tensor("bias", shape: [dim])
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(x, weight: weight, bias: bias, eps: eps) }
}
