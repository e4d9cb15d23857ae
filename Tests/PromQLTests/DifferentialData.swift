import CanopyTestSupport
import Foundation
@testable import PromQL

/// The series the differential test loads into Prometheus and into a `MemorySeriesSource`: two
/// hours of samples about every 15 s (with a few seconds of jitter, as real scrapes have), from
/// `base` on. Counters with resets, gauges with negative and large values, a series with a gap
/// longer than the lookback delta, one that starts late and one that stops early, classic
/// histogram buckets, and info-style series for `group_left`. Values are NaN-free and differ
/// between series, so that `topk` and `sort` have no ties to order arbitrarily.
struct DifferentialData {
    let base: Timestamp
    private(set) var series: [SourceSeries] = []
    /// Metric families in order, each with its OpenMetrics type.
    private var families: [(name: String, type: String, series: [SourceSeries])] = []

    static let duration: Timestamp = 2 * 3_600_000

    init(base: Timestamp, seed: UInt64 = 7) {
        self.base = base
        var random = SplitMix64(seed: seed)
        let instances = ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"]

        var requests: [SourceSeries] = []
        var index = 0
        for job in ["api", "web"] {
            for instance in instances {
                for code in ["200", "500"] {
                    let rate = (code == "200" ? 4.0 : 0.3) * (1 + Double(index) * 0.17)
                    let resets = index % 4 == 1 ? [minutes(40) + Timestamp(index) * 7_000, minutes(95)] : []
                    requests.append(counter(
                        #"http_requests_total{job="\#(job)", instance="\#(instance)", code="\#(code)"}"#,
                        rate: rate, resets: resets, random: &random))
                    index += 1
                }
            }
        }
        add("http_requests", "counter", requests)

        var cpu: [SourceSeries] = []
        for (i, (job, instance, env)) in [
            ("api", instances[0], "prod"), ("api", instances[1], "prod"), ("api", instances[2], "staging"),
            ("web", instances[0], "prod"), ("web", instances[1], "staging"), ("web", instances[2], "staging"),
        ].enumerated() {
            cpu.append(gauge(
                #"cpu_usage{job="\#(job)", instance="\#(instance)", env="\#(env)"}"#, start: 0.2 + Double(i) * 0.1131,
                step: 0.02, random: &random))
        }
        add("cpu_usage", "gauge", cpu)

        add("memory_bytes", "gauge", instances.enumerated().map { i, instance in
            gauge(#"memory_bytes{job="api", instance="\#(instance)"}"#, start: 1.5e9 + Double(i) * 3.7e8, step: 1e7, random: &random)
        })

        add("temperature", "gauge", ["kitchen", "garage", "attic"].enumerated().map { i, room in
            // The garage's sensor is silent for 12 minutes: longer than the lookback delta.
            gauge(#"temperature{room="\#(room)"}"#, start: -3.3 + Double(i) * 2.9, step: 0.7, random: &random,
                  gap: room == "garage" ? minutes(55)..<minutes(67) : nil)
        })

        add("errors", "counter", [
            counter(#"errors_total{job="api", env="prod"}"#, rate: 0.05, random: &random, from: minutes(30)),
            counter(#"errors_total{job="web", env="prod"}"#, rate: 0.11, random: &random, until: minutes(90)),
        ])

        // Classic histogram buckets: cumulative counts, one series per bound.
        var buckets: [SourceSeries] = []
        let bounds = ["0.05", "0.1", "0.5", "1", "+Inf"]
        for (j, job) in ["api", "web"].enumerated() {
            var counts = [Double](repeating: 0, count: bounds.count)
            var samples = [[Sample]](repeating: [], count: bounds.count)
            for time in scrapeTimes(&random) {
                let observations = Int(random.next(below: 20)) + j * 5
                for _ in 0..<observations {
                    // Observations spread over the buckets; the first bucket holding one and all above count it.
                    let bucket = min(bounds.count - 1, random.next(below: 7) / (j + 1))
                    for k in bucket..<bounds.count { counts[k] += 1 }
                }
                for k in bounds.indices { samples[k].append(Sample(t: time, v: counts[k])) }
            }
            for (k, bound) in bounds.enumerated() {
                buckets.append(SourceSeries(
                    labels: labels(#"request_duration_seconds_bucket{job="\#(job)", le="\#(bound)"}"#), data: .samples(samples[k])))
            }
        }
        add("request_duration_seconds_bucket", "gauge", buckets)

        add("up", "gauge", instances.enumerated().map { i, instance in
            let samples = scrapeTimes(&random).map { Sample(t: $0, v: random.next(below: 10) == 0 && i == 1 ? 0 : 1) }
            return SourceSeries(labels: labels(#"up{job="api", instance="\#(instance)"}"#), data: .samples(samples))
        })

        add("build_info", "gauge", [("api", "1.2.0"), ("web", "2.0.1")].map { job, version in
            let samples = scrapeTimes(&random).map { Sample(t: $0, v: 1) }
            return SourceSeries(labels: labels(#"build_info{job="\#(job)", version="\#(version)"}"#), data: .samples(samples))
        })
    }

    private mutating func add(_ family: String, _ type: String, _ members: [SourceSeries]) {
        families.append((family, type, members))
        series += members
    }

    /// Every 15 s from `base` to `base + 2h`, each a few whole seconds late.
    private func scrapeTimes(_ random: inout SplitMix64, from: Timestamp = 0, until: Timestamp = duration) -> [Timestamp] {
        stride(from: from, to: until, by: 15_000).map { base + $0 + Timestamp(random.next(below: 4)) * 1000 }
    }

    private func counter(
        _ text: String, rate: Double, resets: [Timestamp] = [], random: inout SplitMix64, from: Timestamp = 0,
        until: Timestamp = duration
    ) -> SourceSeries {
        var value = Double(random.next(below: 50))
        var pending = resets.map { base + $0 }
        let samples = scrapeTimes(&random, from: from, until: until).map { time -> Sample in
            if let next = pending.first, time >= next {
                pending.removeFirst()
                value = Double(random.next(below: 3))
            } else {
                value += (rate * 15 * (0.5 + Double(random.next(below: 1000)) / 1000)).rounded()
            }
            return Sample(t: time, v: value)
        }
        return SourceSeries(labels: labels(text), data: .samples(samples))
    }

    private func gauge(
        _ text: String, start: Double, step: Double, random: inout SplitMix64, gap: Range<Timestamp>? = nil
    ) -> SourceSeries {
        var value = start
        let samples = scrapeTimes(&random).compactMap { time -> Sample? in
            value += step * (Double(random.next(below: 2001)) / 1000 - 1)
            // Rounded to a few decimals, so the text form is exact.
            let sample = Sample(t: time, v: (value * 1e4).rounded() / 1e4)
            if let gap, gap.contains(time - base) { return nil }
            return sample
        }
        return SourceSeries(labels: labels(text), data: .samples(samples))
    }

    /// The OpenMetrics text promtool turns into blocks: families in turn, each series' samples in
    /// time order, timestamps in seconds.
    var openMetrics: String {
        var text = ""
        for family in families {
            text += "# TYPE \(family.name) \(family.type)\n"
            for item in family.series {
                guard case .samples(let samples) = item.data else { continue }
                let name = item.labels[Labels.metricName] ?? family.name
                let rest = item.labels.pairs.filter { $0.name != Labels.metricName }
                let labelText = "{" + rest.map { "\($0.name)=\"\($0.value)\"" }.joined(separator: ",") + "}"
                for sample in samples {
                    text += "\(name)\(labelText) \(GoText.formatFloat(sample.v)) \(sample.t / 1000)\n"
                }
            }
        }
        return text + "# EOF\n"
    }
}
