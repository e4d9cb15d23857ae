import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Periskop
import PeriskopHummingbird

/// One demo service for `deploy/demo`: a Hummingbird app that serves its exceptions at
/// `/-/exceptions` (the Periskop format, for a leaf to scrape) and simulates traffic that fails
/// in the ways its profile says, at rates that vary.
@main
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canopy-demo",
        abstract: "Runs a demo service that throws realistic exceptions and serves them in the Periskop format.",
        discussion: "Profiles: " + Profile.all.map { "\($0.name) (\($0.summary))" }.joined(separator: "; "))

    @Option(help: "Where to listen (HOST:PORT).")
    var listen = "127.0.0.1:8081"

    @Option(help: "The service's name, in its logs and pages.")
    var service = "checkout"

    @Option(help: "What goes wrong: \(Profile.all.map(\.name).joined(separator: ", ")).")
    var profile = "payments"

    @Option(help: "Seed of the simulated traffic (default: from the service's name and port).")
    var seed: UInt64?

    @Option(help: "Multiplies every error rate (0 reports only on request).")
    var rate = 1.0

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    func validate() throws {
        guard Profile.named(profile) != nil else {
            throw ValidationError("unknown profile \(profile): one of \(Profile.all.map(\.name).joined(separator: ", "))")
        }
        guard Self.address(listen) != nil else { throw ValidationError("--listen must be HOST:PORT, found \(listen)") }
        guard rate >= 0, rate.isFinite else { throw ValidationError("--rate must be 0 or more") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown log level \(logLevel)") }
    }

    static func address(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        let host = String(text[..<colon])
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    func run() async throws {
        let profile = Profile.named(profile)!
        let (host, port) = Self.address(listen)!
        let logger = {
            var logger = Logger(label: "canopy-demo")
            logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            logger[metadataKey: "service"] = "\(self.service)"
            return logger
        }()

        let collector = ExceptionCollector()
        let router = Router()
        router.add(middleware: PeriskopMiddleware(collector: collector, bodyLimit: 4096))
        PeriskopEndpoint(collector: collector).addRoutes(to: router)
        let service = self.service
        router.get("/") { _, _ in
            var text = "\(service): a canopy-demo service (profile \(profile.name): \(profile.summary))\n\n"
            text += "GET  /-/exceptions        its exceptions, in the Periskop format\n"
            text += "POST /simulate/KIND       fails with KIND through the route (reported by PeriskopMiddleware)\n\n"
            text += "Kinds:\n"
            for kind in profile.kinds {
                text += "  \(kind.name) (\(kind.severity.rawValue), \(kind.perMinute)/min)\n"
            }
            return text
        }
        router.get("/healthz") { _, _ in "ok\n" }
        // A request that fails the way the service's kinds do: the middleware reports it with the
        // request itself (method, URL, headers but credentials, body).
        let simulate: @Sendable (Request, BasicRequestContext) async throws -> String = { _, context in
            let name = context.parameters.get("kind") ?? ""
            guard let kind = profile.kinds.first(where: { $0.name == name }) else {
                throw HTTPError(.notFound, message: "no kind \(name) in profile \(profile.name)")
            }
            var random = DemoRandom(seed: UInt64.random(in: 0...UInt64.max))
            throw kind.makeError(&random)
        }
        router.post("/simulate/:kind", use: simulate)
        router.get("/simulate/:kind", use: simulate)

        var seedSource = DemoRandom(seedText: "\(service):\(port)")
        let traffic = TrafficService(
            collector: collector, service: service, profile: profile,
            seed: seed ?? seedSource.next(), rate: rate, logger: logger)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "canopy-demo"),
            services: [traffic],
            onServerRunning: { channel in
                logger.info(
                    "canopy-demo \(service) (profile \(profile.name)) listening on \(host):\(channel.localAddress?.port ?? port); exceptions at /-/exceptions")
            },
            logger: logger)
        try await app.runService()
    }
}
