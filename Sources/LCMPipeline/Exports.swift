// `import LCM` is all an embedding program needs: the networks and the tensor core come with it.
@_exported import LCMModels
@_exported import TensorCore
