// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "swift-lcm",
    products: [
        .library(name: "LCM", targets: ["LCM"]),
        .library(name: "TensorCore", targets: ["TensorCore"]),
        .executable(name: "lcm", targets: ["lcm"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS",
            path: "Sources/COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CPNG",
            path: "Sources/CPNG",
            pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]
        ),
        .target(
            name: "CKernels",
            path: "Kernels",
            exclude: ["README.md"]
        ),
        .target(name: "TensorCore", dependencies: ["CKernels", "COpenBLAS"]),
        .target(name: "LCMModels", dependencies: ["TensorCore"]),
        .target(name: "LCM", dependencies: ["LCMModels", "TensorCore", "CPNG"], path: "Sources/LCMPipeline"),
        .executableTarget(
            name: "lcm",
            dependencies: [
                "LCM",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "EmbedSample",
            dependencies: ["LCM"],
            path: "Samples/EmbedSample"
        ),
        .target(name: "TestSupport", dependencies: ["TensorCore"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "CKernels", "TestSupport"]),
        .testTarget(name: "LCMModelsTests", dependencies: ["LCMModels", "TestSupport"]),
        .testTarget(name: "LCMPipelineTests", dependencies: ["LCM", "TestSupport"]),
    ]
)
