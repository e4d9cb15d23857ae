import Foundation
import Shared

/// The simulated fleet's addresses: one per target, all on one port. All of 127.0.0.0/8 is
/// loopback on Linux, so one nginx listener serves them all, and every target still has an
/// `instance` (and a connection) of its own.
struct TargetAddresses: Sendable {
    let count: Int

    func host(_ index: Int) -> String { "127.10.\(index / 250).\(index % 250 + 1)" }

    var hosts: [String] { (0..<count).map(host) }

    /// Target `index`'s uuid, when the targets share files and nginx fills it in.
    func uuid(_ index: Int) -> String {
        let hex = String(index, radix: 16)
        return "5eedbe0c-0000-4000-8000-" + String(repeating: "0", count: max(0, 12 - hex.count)) + hex
    }
}

/// nginx serving the bench files: the fixed bodies on one port, the changing ones on another,
/// the file chosen by the address the request came to (`$server_addr`).
struct NginxConfig {
    var directory: URL
    var files: BenchFiles
    var addresses: TargetAddresses
    var fixedPort: Int
    var changingPort: Int
    var openFiles: Int

    var text: String {
        let prefix = directory.path
        // `$msec` is `1764629381.123`; its last 5 digits of seconds and the milliseconds, after
        // a 1 (a JSON number has no leading zero), grow on every request: 9 digits, as long as
        // `BenchFiles.countToken`. They wrap every 27.8 hours, which a run does not see.
        let counts = #"map $msec $bench_count { "~(?<s>\d{5})\.(?<ms>\d{3})$" "1$s$ms"; default "100000000"; }"#
        let fileMap = (0..<addresses.count).map { "    \(addresses.host($0)) \($0 % files.distinct);" }.joined(separator: "\n")
        let uuidMap = (0..<addresses.count).map { "    \(addresses.host($0)) \(addresses.uuid($0));" }.joined(separator: "\n")
        return """
            # Written by canopy-bench: the simulated fleet. Not a daemon: stopped by the bench.
            daemon off;
            worker_processes 1;
            worker_rlimit_nofile \(openFiles);
            pid \(prefix)/nginx.pid;
            error_log \(prefix)/nginx-error.log warn;
            events { worker_connections \(max(1024, min(openFiles - 64, addresses.count * 2 + 256))); }
            http {
                access_log off;
                client_body_temp_path \(prefix)/nginx-tmp/body;
                proxy_temp_path \(prefix)/nginx-tmp/proxy;
                fastcgi_temp_path \(prefix)/nginx-tmp/fastcgi;
                uwsgi_temp_path \(prefix)/nginx-tmp/uwsgi;
                scgi_temp_path \(prefix)/nginx-tmp/scgi;
                types { application/json json; text/plain prom; }
                keepalive_requests 100000;
                keepalive_timeout 300s;
                map_hash_max_size \(max(2048, addresses.count * 4));
                map_hash_bucket_size 64;
                \(counts)
                map $server_addr $bench_file {
                    default 0;
            \(fileMap)
                }
                map $server_addr $bench_uuid {
                    default none;
            \(uuidMap)
                }
            \(server(port: fixedPort, mode: "fixed", changing: false))
            \(server(port: changingPort, mode: "changing", changing: true))
            }

            """
    }

    private func server(port: Int, mode: String, changing: Bool) -> String {
        var filters: [String] = []
        if files.sharedUUIDs { filters.append("sub_filter '\(BenchFiles.uuidToken)' '$bench_uuid';") }
        if changing { filters.append("sub_filter '\(BenchFiles.countToken)' '$bench_count';") }
        if !filters.isEmpty {
            filters += ["sub_filter_once off;", "sub_filter_types application/json text/plain;"]
        }
        let filterLines = filters.map { "        " + $0 }.joined(separator: "\n")
        return """
                server {
                    # Every loopback address: a listener on 127.0.0.1 would see only that one.
                    listen \(port);
                    allow 127.0.0.0/8;
                    deny all;
                    root \(directory.path)/\(mode);
            \(filterLines)
                    location = /-/exceptions { rewrite ^ /periskop/$bench_file.json break; }
                    location = /metrics { rewrite ^ /exposition/$bench_file.prom break; }
                }
            """
    }
}

/// Runs nginx on a config of its own, as the bench's child.
enum NginxServer {
    static func with<Result: Sendable>(
        executable: String, config: NginxConfig, fetcher: HTTPFetcher, _ body: (ChildProgram) async throws -> Result
    ) async throws -> Result {
        let directory = config.directory
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("nginx-tmp"), withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("nginx.conf")
        try config.text.write(to: file, atomically: true, encoding: .utf8)
        let errorLog = directory.appendingPathComponent("nginx-error.log").path
        return try await ChildProgram.with(
            "nginx", executable: executable, arguments: ["-p", directory.path, "-c", file.path, "-e", errorLog],
            logPath: directory.appendingPathComponent("nginx.log").path
        ) { nginx in
            try await waitUntilServing(nginx, config: config, errorLog: errorLog, fetcher: fetcher)
            return try await body(nginx)
        }
    }

    /// Waits until the first and last targets answer on both ports.
    private static func waitUntilServing(_ nginx: ChildProgram, config: NginxConfig, errorLog: String, fetcher: HTTPFetcher) async throws {
        let settings = ScrapeSettings(interval: .seconds(5), timeout: .seconds(5), bodySizeLimit: 64 * 1024 * 1024)
        let urls = [0, config.addresses.count - 1].flatMap { index in
            [config.fixedPort, config.changingPort].map { "http://\(config.addresses.host(index)):\($0)/-/exceptions" }
        }
        let deadline = ContinuousClock.now + .seconds(20)
        var lastError = "no answer"
        while ContinuousClock.now < deadline {
            if nginx.hasExited { break }
            var failed = false
            for url in urls {
                do { _ = try await fetcher.fetch(url, settings: settings) } catch {
                    lastError = "\(url): \(error)"
                    failed = true
                    break
                }
            }
            if !failed { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        let log = ((try? String(contentsOfFile: errorLog, encoding: .utf8)) ?? "") + nginx.log
        throw BenchError("nginx did not start serving (\(lastError)): \(log.split(separator: "\n").suffix(10).joined(separator: "\n"))")
    }
}
