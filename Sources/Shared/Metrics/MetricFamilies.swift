import Prometheus
import Synchronization

/// A family of gauges whose members follow a changing set of things (targets, groups): each
/// `update` sets the values of the members given and unregisters the members not given, so
/// `/metrics` never shows a target that is gone.
public final class GaugeFamily: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let name: String
    private let unit: String
    private let help: String
    private let members = Mutex<[[String]: Gauge]>([:])

    public init(registry: PrometheusCollectorRegistry, name: String, unit: String = "", help: String) {
        self.registry = registry
        self.name = name
        self.unit = unit
        self.help = help
    }

    private var descriptor: MetricNameDescriptor { MetricNameDescriptor(metricName: name, unitName: unit, helpText: help) }

    public func update(_ values: [(labels: [(String, String)], value: Double)]) {
        members.withLock { members in
            var next: [[String]: Gauge] = [:]
            for (labels, value) in values {
                let key = labels.flatMap { [$0.0, $0.1] }
                let gauge = members[key] ?? registry.makeGauge(descriptor: descriptor, labels: labels)
                gauge.set(value)
                next[key] = gauge
            }
            for (key, gauge) in members where next[key] == nil { registry.unregisterGauge(gauge) }
            members = next
        }
    }
}

/// A family of counters set from totals kept elsewhere (a counter can only be incremented, so
/// each member is incremented by how much its total grew). A total that falls, which a counter
/// cannot show, starts the member again.
public final class CounterFamily: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let name: String
    private let help: String
    private let members = Mutex<[[String]: (counter: Counter, value: Int64)]>([:])

    public init(registry: PrometheusCollectorRegistry, name: String, help: String) {
        self.registry = registry
        self.name = name
        self.help = help
    }

    private var descriptor: MetricNameDescriptor { MetricNameDescriptor(metricName: name, unitName: "total", helpText: help) }

    public func update(_ values: [(labels: [(String, String)], value: Int64)]) {
        members.withLock { members in
            var next: [[String]: (counter: Counter, value: Int64)] = [:]
            for (labels, value) in values {
                let key = labels.flatMap { [$0.0, $0.1] }
                var member = members[key] ?? (registry.makeCounter(descriptor: descriptor, labels: labels), 0)
                if value < member.value {
                    member.counter.reset()
                    member.value = 0
                }
                if value > member.value {
                    member.counter.increment(by: value - member.value)
                    member.value = value
                }
                next[key] = member
            }
            for (key, member) in members where next[key] == nil { registry.unregisterCounter(member.counter) }
            members = next
        }
    }
}
