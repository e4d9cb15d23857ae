// swift-tools-version:6.1
import PackageDescription

// MemberImportVisibility is left off: with Glibc's structs it fails clean builds by chance
// (`stat.st_uid` "not available due to missing import of CDispatch"), and CI builds clean.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "canopy",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Periskop", targets: ["Periskop"]),
        .library(name: "PeriskopHummingbird", targets: ["PeriskopHummingbird"]),
        // For the fuzz targets (FuzzTargets/), which are a package of their own.
        .library(name: "CanopyPromQL", targets: ["PromQL"]),
        .library(name: "CanopyShared", targets: ["Shared"]),
        .library(name: "CanopyLeaf", targets: ["Leaf"]),
        .library(name: "CanopyHub", targets: ["Hub"]),
        .executable(name: "canopy-leaf", targets: ["LeafMain"]),
        .executable(name: "canopy-hub", targets: ["HubMain"]),
        .executable(name: "canopy-bench", targets: ["Benchmarks"]),
        .executable(name: "canopy-demo", targets: ["Demo"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.1.4"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
    ],
    // Each target names exactly the modules it imports.
    targets: [
        // The Periskop exporter format and the Swift client library. Foundation only: a service
        // that links it pulls in no server.
        .target(name: "Periskop", swiftSettings: swiftSettings),
        // PromQL as Prometheus 2.42 parses it: lexer, parser, type checker, printer. Foundation only.
        .target(name: "PromQL", swiftSettings: swiftSettings),
        // Serves a Periskop collector from a Hummingbird app and reports its handlers' errors.
        .target(
            name: "PeriskopHummingbird",
            dependencies: ["Periskop", .product(name: "Hummingbird", package: "hummingbird")],
            swiftSettings: swiftSettings
        ),
        // What both servers use: config reading, discovery, relabelling, the scrape engine, the
        // federation format, HTTP helpers, metrics and the web kit.
        .target(
            name: "Shared",
            dependencies: [
                "Periskop",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            swiftSettings: swiftSettings
        ),
        // The leaf and the hub are libraries with a one-line executable each, so that the fuzz
        // targets (Fuzz/) can link their readers.
        .executableTarget(name: "LeafMain", dependencies: ["Leaf", "Shared"], swiftSettings: swiftSettings),
        .target(
            name: "Leaf",
            dependencies: [
                "Shared", "Periskop",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Prometheus rule files, their templates and the alert state machine: pure, no I/O.
        .target(
            name: "Rules",
            dependencies: ["PromQL", "Shared", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "HubMain", dependencies: ["Hub", "Shared"], swiftSettings: swiftSettings),
        .target(
            name: "Hub",
            dependencies: [
                "Shared", "Periskop", "PromQL", "Rules",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // `swift run -c release canopy-bench`: the leaf's scrape cost, measured on the release binary.
        .executableTarget(
            name: "Benchmarks",
            dependencies: [
                "Periskop",
                "Shared", "PromQL",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        // `deploy/demo`'s services: a Hummingbird app per service that throws realistic exceptions
        // through the client library at varying rates.
        .executableTarget(
            name: "Demo",
            dependencies: [
                "Periskop",
                "PeriskopHummingbird",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // What the end-to-end tests share: fake targets, running servers, waiting for conditions.
        .target(
            name: "CanopyTestSupport",
            dependencies: [
                "Periskop",
                "Shared",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Tests/TestSupport",
            exclude: ["python"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "PeriskopTests", dependencies: ["Periskop", "CanopyTestSupport"], swiftSettings: swiftSettings),
        // Rule files and templates, checked against promtool (`check rules`, `test rules`).
        .testTarget(name: "RulesTests", dependencies: ["Rules", "PromQL", "Shared", "CanopyTestSupport"], swiftSettings: swiftSettings),
        // Two of its tests run promtool (Debian's prometheus package) and require agreement with it.
        .testTarget(name: "PromQLTests", dependencies: ["PromQL", "CanopyTestSupport"], exclude: ["parser-corpus.txt"], swiftSettings: swiftSettings),
        .testTarget(
            name: "PeriskopClientTests",
            dependencies: [
                "Periskop", "PeriskopHummingbird", "CanopyTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SharedTests",
            dependencies: [
                "Shared", "Periskop", "CanopyTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LeafTests",
            dependencies: [
                "Leaf", "Shared", "Periskop", "CanopyTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HubTests",
            dependencies: [
                "Hub", "Shared", "Periskop", "PromQL", "CanopyTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The files in deploy/: parsed, their references checked, their configs run through check-config.
        .testTarget(
            name: "DeployTests",
            dependencies: ["CanopyTestSupport", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "DemoTests", dependencies: ["CanopyTestSupport"], swiftSettings: swiftSettings),
    ]
)
