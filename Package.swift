// swift-tools-version: 6.1
import CompilerPluginSupport
import PackageDescription

let upcoming: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Sluice",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sluice", targets: ["sluice"]),
        .executable(name: "sluice-bench", targets: ["sluice-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swiftlang/swift-syntax", from: "603.0.1"),
    ],
    targets: [
        // Pure: identifiers, values, the validated pipeline model, diagnostics, graph algorithms. No I/O.
        .target(name: "SluiceCore", dependencies: ["SluiceMacros"], swiftSettings: upcoming),
        // Compiler plugin: `@MemberwiseInit`, the public memberwise init of public records (declared in Core).
        .macro(
            name: "SluiceMacros",
            dependencies: [
                .product(name: "SwiftSyntax", package: "swift-syntax"),
                .product(name: "SwiftSyntaxMacros", package: "swift-syntax"),
                .product(name: "SwiftCompilerPlugin", package: "swift-syntax"),
            ],
            swiftSettings: upcoming
        ),
        // YAML/JSON text -> located syntax -> validated pipeline.
        .target(
            name: "SluiceSpec",
            dependencies: ["SluiceCore", .product(name: "Yams", package: "Yams")],
            swiftSettings: upcoming
        ),
        // Pure numerics: frames, CSV parsing, transforms, algorithms, metrics, model format. Core only for its pure
        // helpers (the seeded generator); no I/O comes with it.
        .target(name: "SluiceML", dependencies: ["SluiceCore"], swiftSettings: upcoming),
        // SQLite metadata (GRDB) and the content-addressed artifact store.
        .target(
            name: "SluiceStore",
            dependencies: ["SluiceCore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: upcoming
        ),
        // Scheduler, state machines, retries, timeouts, caching, resume, approvals. Talks to the store by protocol.
        .target(
            name: "SluiceEngine",
            dependencies: [
                "SluiceCore", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcoming
        ),
        // The HTTP/1.1 client over SwiftNIO (plain or TLS) that the executors and the AWS clients share.
        .target(
            name: "SluiceHTTPClient",
            dependencies: [
                "SluiceCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: upcoming
        ),
        // Built-in steps, command, Lambda-style handler, HTTP and container executors.
        .target(
            name: "SluiceExecutors",
            dependencies: [
                "SluiceCore", "SluiceML", "SluiceHTTPClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: upcoming
        ),
        // Test doubles: a manual clock, a scripted executor, named pipeline shapes.
        .target(
            name: "SluiceTesting",
            dependencies: [
                "SluiceCore", "SluiceEngine", "SluiceSpec",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: upcoming
        ),
        // Endpoints, variants, predictors, input decoding, API keys, usage plans, data capture. No HTTP.
        .target(
            name: "SluiceServing",
            dependencies: [
                "SluiceCore", "SluiceML",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcoming
        ),
        // The HTTP server: routes, middleware, /metrics.
        .target(
            name: "SluiceServer",
            dependencies: [
                "SluiceCore", "SluiceServing",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: upcoming
        ),
        // The web console: server-rendered pages (Mustache templates, SVG graphs, a little plain JavaScript) added to
        // the server as one route group; it reads the store and acts through the engine.
        .target(
            name: "SluiceConsole",
            dependencies: [
                "SluiceCore", "SluiceStore", "SluiceEngine", "SluiceServing", "SluiceServer",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcoming
        ),
        // Baselines, drift statistics, constraint violations, model quality (pure numerics); and the monitoring run
        // and its schedules over Core's store protocols (capture files in, Model Monitor's files out).
        .target(
            name: "SluiceMonitor",
            dependencies: [
                "SluiceCore", "SluiceML", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcoming
        ),
        // AWS: SigV4, the standard configuration, the S3 client and the embedded S3 folder store; Step Functions
        // (ASL + CloudFormation) and SageMaker Pipelines export; the service calls behind `sluice aws`.
        .target(
            name: "SluiceCloud",
            dependencies: [
                "SluiceCore", "SluiceHTTPClient",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: upcoming
        ),
        // The composition root: ArgumentParser commands.
        .target(
            name: "SluiceCLI",
            dependencies: [
                "SluiceCore", "SluiceSpec", "SluiceML", "SluiceExecutors", "SluiceStore", "SluiceEngine",
                "SluiceServing", "SluiceServer", "SluiceMonitor", "SluiceCloud", "SluiceConsole", "SluiceHTTPClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: upcoming
        ),
        .executableTarget(name: "sluice", dependencies: ["SluiceCLI"], swiftSettings: upcoming),
        // The benchmarks of BENCHMARKS.md, apart from the user's commands.
        .executableTarget(name: "sluice-bench", dependencies: ["SluiceCLI"], swiftSettings: upcoming),
        .testTarget(name: "SluiceCoreTests", dependencies: ["SluiceCore"], swiftSettings: upcoming),
        .testTarget(
            name: "SluiceMacrosTests",
            dependencies: [
                "SluiceMacros",
                .product(name: "SwiftSyntaxMacroExpansion", package: "swift-syntax"),
                .product(name: "SwiftSyntaxMacrosGenericTestSupport", package: "swift-syntax"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "SluiceSpecTests",
            dependencies: ["SluiceSpec", "SluiceCore", "SluiceTesting"],
            exclude: ["Fixtures"],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "SluiceMLTests",
            dependencies: ["SluiceML", "SluiceExecutors", "SluiceCore", "SluiceTesting"],
            exclude: ["Fixtures"],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "SluiceStoreTests",
            dependencies: ["SluiceStore", "SluiceCore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "SluiceEngineTests",
            dependencies: [
                "SluiceEngine", "SluiceCore", "SluiceML", "SluiceStore", "SluiceTesting", "SluiceExecutors",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "SluiceExecutorsTests",
            dependencies: [
                "SluiceExecutors", "SluiceHTTPClient", "SluiceCore", "SluiceTesting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "SluiceServingTests",
            dependencies: ["SluiceServing", "SluiceCore"],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "SluiceCLITests",
            dependencies: [
                "SluiceCLI", "SluiceStore", "SluiceServing", "SluiceCore", "SluiceExecutors", "SluiceML",
                "SluiceServer", "SluiceTesting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "SluiceServerTests",
            dependencies: [
                "SluiceServer", "SluiceServing", "SluiceCore", "SluiceTesting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "SluiceMonitorTests", dependencies: ["SluiceMonitor", "SluiceCore", "SluiceML"],
            swiftSettings: upcoming),
        .testTarget(
            name: "SluiceCloudTests",
            dependencies: ["SluiceCloud", "SluiceCore", "SluiceSpec", "SluiceTesting"],
            exclude: ["Fixtures"],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "SluiceHostTests",
            dependencies: [
                "SluiceCLI", "SluiceServer", "SluiceServing", "SluiceStore", "SluiceEngine", "SluiceCore",
                "SluiceTesting", "SluiceConsole", "SluiceML",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
    ]
)
