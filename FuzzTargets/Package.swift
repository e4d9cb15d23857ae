// swift-tools-version:5.3
import PackageDescription

// libFuzzer targets for Canopy's readers of untrusted text. A package of its own, so that the main
// build never links an executable without `main`: only scripts/fuzz builds it, with
// `-sanitize=fuzzer,address` (libFuzzer brings `main`), into its own scratch path .build-fuzz.
// The folder is not called Fuzz/: a path dependency's identity is its folder's name, and a
// checkout named `fuzz` would then depend on itself. Tools version 5.3, and each target a
// `.target` with a `main.swift` compiled with `-parse-as-library`: from 5.5 on, SwiftPM links an
// executable with `--defsym main=<Target>_main`, which a module without top-level code lacks.
let package = Package(
    name: "canopy-fuzz",
    dependencies: [.package(name: "canopy", path: "..")],
    targets: [
        // What every target shares: reading the input, failing an invariant as a crash.
        .target(name: "FuzzSupport", dependencies: [.product(name: "CanopyShared", package: "canopy")]),
        // Periskop exports as a target serves them: the leaf's first reader of untrusted bytes.
        .target(name: "FuzzPeriskop", dependencies: ["FuzzSupport", .product(name: "Periskop", package: "canopy")]),
        // A leaf's federation payload as the hub decodes and prepares it for storage.
        .target(
            name: "FuzzFederation",
            dependencies: ["FuzzSupport", .product(name: "CanopyShared", package: "canopy"), .product(name: "CanopyHub", package: "canopy")]
        ),
        .target(name: "FuzzLeafConfig", dependencies: ["FuzzSupport", .product(name: "CanopyLeaf", package: "canopy")]),
        .target(name: "FuzzHubConfig", dependencies: ["FuzzSupport", .product(name: "CanopyHub", package: "canopy")]),
        .target(name: "FuzzPromQL", dependencies: ["FuzzSupport", .product(name: "CanopyPromQL", package: "canopy")]),
        .target(name: "FuzzScrubber", dependencies: ["FuzzSupport", .product(name: "CanopyLeaf", package: "canopy")]),
        // `--web.config.file`: TLS, headers and users, as exporter-toolkit reads them.
        .target(name: "FuzzWebConfig", dependencies: ["FuzzSupport", .product(name: "CanopyShared", package: "canopy")]),
    ]
)
