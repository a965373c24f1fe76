// swift-tools-version: 6.1
import PackageDescription

let upcoming: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Sluice",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sluice", targets: ["sluice"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // Pure: identifiers, values, the validated pipeline model, diagnostics, graph algorithms. No I/O.
        .target(name: "SluiceCore", swiftSettings: upcoming),
        // YAML/JSON text -> located syntax -> validated pipeline.
        .target(
            name: "SluiceSpec",
            dependencies: ["SluiceCore", .product(name: "Yams", package: "Yams")],
            swiftSettings: upcoming
        ),
        // Pure numerics: frames, CSV parsing, transforms, algorithms, metrics, model format.
        .target(name: "SluiceML", swiftSettings: upcoming),
        // Built-in steps, command, Lambda-style handler, HTTP and container executors.
        .target(name: "SluiceExecutors", dependencies: ["SluiceCore", "SluiceML"], swiftSettings: upcoming),
        // The composition root: ArgumentParser commands.
        .target(
            name: "SluiceCLI",
            dependencies: [
                "SluiceCore", "SluiceSpec", "SluiceML", "SluiceExecutors",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: upcoming
        ),
        .executableTarget(name: "sluice", dependencies: ["SluiceCLI"], swiftSettings: upcoming),
        .testTarget(name: "SluiceCoreTests", dependencies: ["SluiceCore"], swiftSettings: upcoming),
        .testTarget(
            name: "SluiceSpecTests",
            dependencies: ["SluiceSpec", "SluiceCore"],
            exclude: ["Fixtures"],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "SluiceMLTests",
            dependencies: ["SluiceML", "SluiceExecutors", "SluiceCore"],
            exclude: ["Fixtures"],
            swiftSettings: upcoming
        ),
    ]
)
