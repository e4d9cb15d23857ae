import Foundation
import Logging
import Periskop
import ServiceLifecycle

/// The simulated traffic of one service: which errors happen in each step of time.
///
/// Each kind of error is a Poisson process at its `perMinute` rate, scaled by
/// - the service's mood, which changes every half minute to two minutes: ordinary traffic (×1),
///   a busy spell (×2.5) or a quiet one (×0.15), so totals grow in bursts and pauses;
/// - the kind's own incident, when one is on: ×8 to ×20 for 20 to 90 seconds, started at random
///   at the kind's `incidentsPerHour`.
/// All of it comes from one seeded generator: the same seed plays the same story.
struct TrafficSimulation {
    enum Mood: String {
        case ordinary, busy, quiet

        var factor: Double {
            switch self {
            case .ordinary: 1
            case .busy: 2.5
            case .quiet: 0.15
            }
        }
    }

    struct Incident {
        var factor: Double
        var remaining: Double
    }

    let profile: Profile
    /// Scales every rate (`--rate`).
    let rate: Double
    var random: DemoRandom
    private(set) var mood = Mood.ordinary
    private var moodRemaining: Double
    private(set) var incidents: [String: Incident] = [:]
    /// What changed in the last step, for the log.
    private(set) var news: [String] = []

    init(profile: Profile, rate: Double, random: DemoRandom) {
        self.profile = profile
        self.rate = rate
        self.random = random
        moodRemaining = self.random.double(20...60)
    }

    /// The kinds that occur in the next `seconds`, one entry per occurrence.
    mutating func step(seconds: Double) -> [ErrorKind] {
        news = []
        moodRemaining -= seconds
        if moodRemaining <= 0 {
            let roll = random.unit()
            mood = roll < 0.55 ? .ordinary : roll < 0.78 ? .busy : .quiet
            moodRemaining = switch mood {
            case .ordinary: random.double(30...120)
            case .busy: random.double(15...60)
            case .quiet: random.double(20...90)
            }
            news.append("traffic is \(mood.rawValue) for \(Int(moodRemaining)) s")
        }
        var occurred: [ErrorKind] = []
        for kind in profile.kinds {
            if var incident = incidents[kind.name] {
                incident.remaining -= seconds
                if incident.remaining <= 0 {
                    incidents[kind.name] = nil
                    news.append("incident over: \(kind.name)")
                } else {
                    incidents[kind.name] = incident
                }
            } else if kind.incidentsPerHour > 0, random.chance(kind.incidentsPerHour / 3600 * seconds) {
                let incident = Incident(factor: random.double(8...20), remaining: random.double(20...90))
                incidents[kind.name] = incident
                news.append("incident: \(kind.name) ×\(Int(incident.factor)) for \(Int(incident.remaining)) s")
            }
            let perSecond = kind.perMinute / 60 * rate * mood.factor * (incidents[kind.name]?.factor ?? 1)
            for _ in 0..<random.poisson(perSecond * seconds) { occurred.append(kind) }
        }
        return occurred
    }

    /// One occurrence picked by rate: what a service reports as soon as it starts, so that a demo
    /// shows something within its first scrape.
    mutating func anyKind() -> ErrorKind {
        let total = profile.kinds.reduce(0) { $0 + $1.perMinute }
        var roll = random.unit() * total
        for kind in profile.kinds {
            roll -= kind.perMinute
            if roll < 0 { return kind }
        }
        return profile.kinds[0]
    }
}

/// Runs the simulation next to the HTTP server and reports what it produces to the collector,
/// as a real service reports the errors it catches.
struct TrafficService: Service {
    let collector: ExceptionCollector
    let service: String
    let profile: Profile
    let seed: UInt64
    let rate: Double
    let logger: Logger

    static let tick: Double = 0.5

    func run() async throws {
        var simulation = TrafficSimulation(profile: profile, rate: rate, random: DemoRandom(seed: seed))
        report(simulation.anyKind(), random: &simulation.random)
        var reported = 1
        var lastSummary = ContinuousClock.now
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await Task.sleep(for: .seconds(Self.tick))
            for kind in simulation.step(seconds: Self.tick) {
                report(kind, random: &simulation.random)
                reported += 1
            }
            for line in simulation.news { logger.info("\(line)") }
            if ContinuousClock.now - lastSummary >= .seconds(60) {
                logger.info("reported \(reported) exceptions in the last minute")
                reported = 0
                lastSummary = ContinuousClock.now
            }
        }
    }

    /// Errors whose message varies are grouped by kind (`report(_:key:)`); the others by the key
    /// the collector derives from class, message and the reporting stack.
    ///
    /// `@inline(never)`: inlined into one caller and not the other (as a release build does), a
    /// kind would have two stacks, so two keys, and this function would not be the top frame.
    @inline(never)
    func report(_ kind: ErrorKind, random: inout DemoRandom) {
        let error = kind.makeError(&random)
        let request = kind.request?(&random)
        if kind.varyingMessage {
            collector.report(error, key: Self.key(of: kind, error: error, service: service), severity: kind.severity, httpContext: request)
        } else {
            collector.report(error, severity: kind.severity, httpContext: request)
        }
    }

    /// `<class>@<hash of the kind>`, the shape of the derived keys.
    static func key(of kind: ErrorKind, error: any Error, service: String) -> String {
        AggregationKey.make(className: ErrorDescription.className(of: error), message: kind.name, frames: [service])
    }
}
